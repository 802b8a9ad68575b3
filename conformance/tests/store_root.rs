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
            // A lone server has no membership: its config node stays empty, as created.
            "get /zookeeper/config: {:?}",
            s.get_data("/zookeeper/config")
                .await
                .map(|(d, st)| (d, st.version, st.mtime))
                .map_err(|e| e.code)
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
        format!("get /zookeeper/config: {:?}", Ok::<_, ()>((Some(Vec::<u8>::new()), 0, 0))),
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

/// A reconfig request to a lone server (reconfiguration disabled, as by default) is refused
/// with `ReconfigDisabled`, and the config node stays empty.
async fn reconfig_is_refused(address: &str) {
    use zookeeper_client::EnsembleUpdate;
    let client = zookeeper_client::Client::connect(address).await.expect("connecting");
    let leave = EnsembleUpdate::Incremental { joinings: [].iter().copied(), leavings: ["1"].iter().copied() };
    assert_eq!(
        client.update_ensemble(leave, None).await.unwrap_err(),
        zookeeper_client::Error::ReconfigDisabled
    );
    assert_eq!(client.get_config().await.unwrap().0, b"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zczk_serve_refuses_reconfig() {
    let served = zczk_emulator::serve("127.0.0.1:0", Emulator::new()).await.expect("binding the server");
    reconfig_is_refused(&served.local_addr().to_string()).await;
}

zczk_conformance::real_server_tests!(the_server_refuses_reconfig);

async fn the_server_refuses_reconfig(address: String) {
    reconfig_is_refused(&address).await;
}
