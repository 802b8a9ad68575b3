//! The server's own nodes (`/`, `/zookeeper`, `/zookeeper/config`, `/zookeeper/quota`), which
//! the chrooted conformance cases cannot reach: the emulator and the real server (at its real
//! root) must answer the same requests the same way.

use zczk_core::store::{Acl, Connector, CreateOptions, Perms, Store};
use zczk_emulator::Emulator;
use zczk_zookeeper::ZkConnector;

/// One line per request: what it answered (an error code, or the part of the answer that is
/// the same on every server).
async fn answers(s: &dyn Store) -> Vec<String> {
    let open = CreateOptions::default();
    vec![
        format!("delete /: {:?}", s.delete("/", None).await.map_err(|e| e.code)),
        format!("create /: {:?}", s.create("/", Some(b""), &open).await.map(|c| c.path).map_err(|e| e.code)),
        format!("delete /zookeeper: {:?}", s.delete("/zookeeper", None).await.map_err(|e| e.code)),
        format!(
            "delete /zookeeper/quota: {:?}",
            s.delete("/zookeeper/quota", None).await.map_err(|e| e.code)
        ),
        format!(
            "delete /zookeeper/config: {:?}",
            s.delete("/zookeeper/config", None).await.map_err(|e| e.code)
        ),
        format!(
            "set /zookeeper/config: {:?}",
            s.set_data("/zookeeper/config", Some(b"x"), None).await.map(|st| st.version).map_err(|e| e.code)
        ),
        format!(
            "get_acl /zookeeper/config: {:?}",
            s.get_acl("/zookeeper/config").await.map(|(acl, st)| (acl, st.aversion)).map_err(|e| e.code)
        ),
        format!(
            "create /zookeeper/zczk-root-test: {:?}",
            s.create("/zookeeper/zczk-root-test", Some(b""), &open).await.map(|c| c.path).map_err(|e| e.code)
        ),
        format!(
            "delete /zookeeper/zczk-root-test: {:?}",
            s.delete("/zookeeper/zczk-root-test", None).await.map_err(|e| e.code)
        ),
        format!(
            "stat /: {:?}",
            // Only czxid: `/`'s version depends on what other tests on a shared server did.
            s.exists("/").await.map(|st| st.map(|st| st.czxid)).map_err(|e| e.code)
        ),
    ]
}

fn expected() -> Vec<String> {
    let read_only = vec![Acl::new(Perms::READ, "world", "anyone")];
    vec![
        "delete /: Err(BadArguments)".to_string(),
        "create /: Err(BadArguments)".to_string(),
        "delete /zookeeper: Err(BadArguments)".to_string(),
        "delete /zookeeper/quota: Err(BadArguments)".to_string(),
        "delete /zookeeper/config: Err(BadArguments)".to_string(),
        "set /zookeeper/config: Err(NoAuth)".to_string(),
        format!("get_acl /zookeeper/config: {:?}", Ok::<_, ()>((read_only, -1))),
        "create /zookeeper/zczk-root-test: Ok(\"/zookeeper/zczk-root-test\")".to_string(),
        "delete /zookeeper/zczk-root-test: Ok(())".to_string(),
        "stat /: Ok(Some(0))".to_string(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulators_own_nodes_answer_as_the_servers() {
    assert_eq!(answers(&Emulator::new().session()).await, expected());
}

zczk_conformance::real_server_tests!(the_servers_own_nodes_answer_as_expected);

async fn the_servers_own_nodes_answer_as_expected(address: String) {
    let real = ZkConnector::new(address).connect().await.expect("connecting to the real server");
    assert_eq!(answers(&real).await, expected());
    real.close().await.unwrap();
}
