//! The test kit used as a user would (the README's example): a registration and a children
//! view survive any sequence of faults; and the seeded schedules are what their seeds say.

use std::time::Duration;

use proptest::prelude::*;
use zczk_core::client::ZooKeeper;
use zczk_core::store::Store;
use zczk_emulator::testkit::{fault_schedule, Fault, FaultSchedule};
use zczk_emulator::Emulator;

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn a_registration_survives_any_fault_sequence(schedule in fault_schedule(6)) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let emulator = Emulator::from_tree_text("/web\n  /providers\n").unwrap();
            let server = ZooKeeper::new(emulator.connector()).await.unwrap();
            let client = ZooKeeper::new(emulator.connector()).await.unwrap();
            let providers = client.children("/web/providers").await.unwrap();
            server.register("/web/providers", "10.0.0.1:8080", Default::default()).await.unwrap();

            schedule.run(&emulator, || server.store().session_id()).await;

            // Once the faults are over, the registration is back and the view shows it.
            let want = ["10.0.0.1:8080".to_string()];
            let settled = tokio::time::timeout(Duration::from_secs(20), async {
                loop {
                    let stored = client.store().get_children("/web/providers").await.map(|(c, _)| c);
                    if providers.names() == want && stored.as_deref() == Ok(&want[..]) {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            });
            assert!(settled.await.is_ok(), "not registered after {schedule:?}: {:?}", providers.names());
            if schedule.steps.iter().any(|(_, fault)| *fault == Fault::Expire) {
                assert!(*server.generation().borrow() >= 1, "the expiry made a new session");
            }
        });
    }
}

#[test]
fn a_seed_stands_for_one_schedule() {
    let schedule = FaultSchedule::seeded(7, 5);
    assert_eq!(schedule.steps.len(), 5);
    assert_eq!(schedule, FaultSchedule::seeded(7, 5));
    assert_ne!(schedule, FaultSchedule::seeded(8, 5));
    let kinds = (0..20).flat_map(|seed| FaultSchedule::seeded(seed, 5).steps).map(|(_, fault)| match fault {
        Fault::Expire => 0,
        Fault::Disconnect(_) => 1,
        Fault::Fail { .. } => 2,
        Fault::Delay { .. } => 3,
    });
    assert_eq!(kinds.collect::<std::collections::BTreeSet<_>>().len(), 4, "every kind of fault");
}
