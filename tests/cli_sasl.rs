//! SASL DIGEST-MD5 login against a real ZooKeeper started here with a JAAS file (skipped
//! without the Debian package's jar, failing when `CI` is set).

use predicates::prelude::*;

use crate::private_server::{zczk, PrivateServer};

zczk_zookeeper::needs_zookeeper_jar! {
/// A node only `sasl:alice` may use: alice logged in with DIGEST-MD5 imports and reads it;
/// without the login, reading is refused; a wrong password fails the login.
#[test]
fn sasl_digest_md5_login() {
    let test = "sasl_digest_md5_login";
    let dir = PrivateServer::prepare(test);
    let jaas = dir.path().join("jaas.conf");
    std::fs::write(
        &jaas,
        "Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  user_alice=\"w0nderland\";\n};\n",
    )
    .unwrap();
    let jvm = [format!("-Djava.security.auth.login.config={}", jaas.display())];
    let config = "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n";
    let server = PrivateServer::start(test, dir, config, &jvm, &[]);
    let zk = server.plain.as_str();
    zczk(zk)
        .args(["import", "--auth", "sasl:alice:w0nderland", "-p", "sasl:alice:cdrwa", "-"])
        .write_stdin("/secret\n  x = 1\n")
        .assert()
        .success();
    zczk(zk)
        .args(["get", "/secret"])
        .env("ZC_ZK_AUTH", "sasl:alice:w0nderland")
        .assert()
        .success()
        .stdout("{\n  \"x\": 1\n}\n");
    zczk(zk)
        .args(["get", "/secret"])
        .assert()
        .code(1)
        // The server shows an ACL only to a session that may read or administer the node.
        .stderr("zczk: /secret: not allowed to read (this session: world:anyone)\n");
    zczk(zk)
        .args(["get", "--connect-timeout", "3", "--auth", "sasl:alice:wrong", "/secret"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(zk).and(predicate::str::contains("wrong").not()));
    // A SASL login is for a real server only.
    zczk("mem:")
        .args(["get", "/", "--auth", "sasl:alice:w0nderland"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("SASL"));
}
}
