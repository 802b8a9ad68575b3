//! `zczk ui` in a real browser: headless Chromium driven over WebDriver (chromedriver), on
//! `zczk serve` loaded with examples/services.zk. Ignored unless run with --include-ignored
//! (CI installs Chromium and chromedriver and runs them); set ZCZK_UI_SCREENSHOTS to a folder
//! (e.g. `examples`) to save the README's screenshots there.

use std::net::TcpListener;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

use crate::cli_ui::{Ui, SERVICES};
use crate::cli_zk::{Killed, Served};

/// Marks a test that needs Chromium and chromedriver: ignored unless asked for, as
/// `needs_real_server!` does for the real server.
macro_rules! needs_browser {
    ($($test:tt)*) => {
        #[ignore = "needs Chromium and chromedriver (apt-get install chromium chromium-driver) and --include-ignored"]
        $($test)*
    };
}

/// A chromedriver on a free port, killed when dropped, and a headless browser session on it.
struct Browser {
    client: Client,
    _driver: Killed,
}

impl Browser {
    async fn start() -> Browser {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = StdCommand::new("chromedriver")
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("chromedriver could not start ({e}): apt-get install chromium chromium-driver")
            });
        let driver = Killed(driver);
        let capabilities = json!({"goog:chromeOptions": {"args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--window-size=1280,800", "--no-first-run", "--disable-extensions",
        ]}});
        let Value::Object(capabilities) = capabilities else { unreachable!() };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut builder = ClientBuilder::new(HttpConnector::new());
            match builder
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => return Browser { client, _driver: driver },
                Err(e) if Instant::now() > deadline => panic!("no browser session from chromedriver: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    async fn open(&self, ui: &Ui) {
        self.client.goto(&format!("{}/", ui.url)).await.unwrap();
        self.element("body[data-ready=yes]").await;
    }

    /// The element `css` selects, once it shows up.
    async fn element(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} never showed: {e}"))
    }

    /// Clicks the element `css` selects, found again if the page replaced it meanwhile.
    async fn click(&self, css: &str) {
        for _ in 0..5 {
            match self.element(css).await.click().await {
                Err(e) if e.to_string().contains("stale element") => continue,
                clicked => return clicked.unwrap_or_else(|e| panic!("clicking {css}: {e}")),
            }
        }
        panic!("clicking {css}: the page kept replacing it");
    }

    async fn eval(&self, script: &str, args: Vec<Value>) -> Value {
        self.client.execute(script, args).await.unwrap()
    }

    /// Waits until `script` returns true.
    async fn until(&self, what: &str, script: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.eval(script, vec![]).await != Value::Bool(true) {
            assert!(Instant::now() < deadline, "waited in vain for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The text of the element `css` selects, once it shows up (read in one step: the page
    /// may replace the element meanwhile).
    async fn text(&self, css: &str) -> String {
        self.element(css).await;
        let text = self.eval("const found = document.querySelector(arguments[0]); return found.innerText ?? found.textContent", vec![json!(css)]).await;
        text.as_str().unwrap().to_string()
    }

    /// A screenshot, saved as `NAME.png` in ZCZK_UI_SCREENSHOTS when that is set.
    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
        if let Some(folder) = std::env::var_os("ZCZK_UI_SCREENSHOTS") {
            std::fs::write(std::path::Path::new(&folder).join(format!("{name}.png")), png).unwrap();
        }
    }
}

/// `zczk ARGS --zk ZK`.
fn zczk(zk: &str, args: &[&str]) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("zczk").unwrap();
    command.args(args).args(["--zk", zk]);
    command
}

fn node(path: &str) -> String {
    format!("li[data-path=\"{path}\"]")
}

needs_browser! {
    /// The tree, a link followed, a provider appearing live, the graph, and an import previewed
    /// and applied with --write.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_page_shows_the_system_live_and_imports_with_write() {
        let served = Served::start();
        zczk(&served.zk, &["import", "-"]).write_stdin(SERVICES).assert().success();
        let ui = Ui::start(&served.zk, true);
        let browser = Browser::start().await;
        browser.open(&ui).await;

        // The tree: expand /web, select it, follow its `db` link to the node it leads to.
        browser.click(&format!("{} > .row .toggle", node("/web"))).await;
        browser.element(&node("/web/providers")).await;
        browser.click(&format!("{} > .row .name", node("/web"))).await;
        assert_eq!(browser.text("#details h2").await, "/web");
        assert!(browser.text("#details tr[data-name=threads]").await.contains('4'), "a property link followed");
        browser.click("#details tr[data-name=db] a.follow").await;
        browser.until("the db link to be followed", "return document.querySelector('#details h2').textContent === '/databases/main/providers'").await;
        browser.element(&format!("{} > .row.selected", node("/databases/main/providers"))).await;

        // Live: a provider registered by another process appears without a reload.
        browser.click(&format!("{} > .row .toggle", node("/web/providers"))).await;
        browser.until("the page to follow /web/providers", "return (document.body.dataset.following || '').includes('\"/web/providers\"')").await;
        let mut register = Killed(
            StdCommand::new(assert_cmd::cargo::cargo_bin("zczk"))
                .args(["register", "--zk", &served.zk, "/web/providers", "127.0.0.1:9000"])
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let provider = format!("{} .eph", node("/web/providers/127.0.0.1:9000"));
        assert!(browser.text(&provider).await.starts_with("ephemeral 0x"));
        browser.click(&format!("{} > .row .name", node("/web"))).await;
        browser.screenshot("ui-tree").await;

        // The graph: the layout of `zczk graph --format svg`, with the providers counted.
        browser.click("nav button[data-tab=graph]").await;
        browser.element("#graph svg text.badge").await;
        let services = browser.eval("return [...document.querySelectorAll('#graph svg text.service')].map(t => t.dataset.path).sort()", vec![]).await;
        assert_eq!(services, json!(["/cache", "/databases/main", "/lb", "/web"]));
        assert_eq!(browser.text("#graph svg text.badge[data-service=\"/web\"]").await, "1 provider");
        assert_eq!(browser.text("#graph svg text.badge.idle[data-service=\"/cache\"]").await, "no providers");
        let arrows = browser.eval("return document.querySelectorAll('#graph svg path').length", vec![]).await;
        assert_eq!(arrows, json!(3), "an arrow for each of the 3 edges");
        browser.screenshot("ui-graph").await;
        // Live here too: a provider of /cache registering shows on the graph.
        browser.until("the graph to follow /cache/providers", "return (document.body.dataset.following || '').includes('\"/cache/providers\"')").await;
        let _cache = Killed(
            StdCommand::new(assert_cmd::cargo::cargo_bin("zczk"))
                .args(["register", "--zk", &served.zk, "/cache/providers", "127.0.0.1:11211"])
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
        browser.until("the /cache provider on the graph", "const b = document.querySelector('#graph svg text.badge[data-service=\"/cache\"]'); return b !== null && b.textContent === '1 provider'").await;
        browser.click("#graph svg text.service[data-path=\"/lb\"]").await;
        browser.until("the graph's service to open its node", "return document.querySelector('#details h2').textContent === '/lb'").await;
        let _ = register.0.kill();

        // Import: preview shows the plan and writes nothing; apply writes it.
        browser.click("nav button[data-tab=import]").await;
        let changed = SERVICES.replace("color = 'blue'", "color = 'red'") + "/search\n  /providers\n";
        browser.eval("document.querySelector('#import-text').value = arguments[0]", vec![json!(changed)]).await;
        browser.click("#preview").await;
        browser.until("the plan", "return document.querySelectorAll('#plan div').length === 3").await;
        let plan = browser.text("#plan").await;
        assert_eq!(plan, "+ add /search\n+ add /search/providers\n~ /web color change from blue to red");
        zczk(&served.zk, &["get", "/web"]).assert().success().stdout(predicates::str::contains("\"blue\""));
        browser.click("#apply").await;
        browser.until("the import to be applied", "return document.querySelector('#plan-status').textContent.startsWith('Applied')").await;
        zczk(&served.zk, &["get", "/web"]).assert().success().stdout(predicates::str::contains("\"red\""));
        zczk(&served.zk, &["walk", "/search"]).assert().success().stdout("/search\n/search/providers\n");

        // Stat on demand, and an edit that someone else's change overtakes: shown, not overwritten.
        browser.click("nav button[data-tab=tree]").await;
        browser.click(&format!("{} > .row .name", node("/cache"))).await;
        browser.until("/cache to show", "return document.querySelector('#details h2').textContent === '/cache'").await;
        browser.click("#stat").await;
        assert!(browser.text("#stat-box").await.contains("numChildren"));
        browser.click("#edit").await;
        browser.eval("document.querySelector('#edit-text').value = '{\"memory_mb\": 1}'", vec![]).await;
        zczk(&served.zk, &["set-property", "/cache", "memory_mb=999"]).assert().success();
        browser.element("#details .notice.meanwhile").await;
        browser.click("#save").await;
        browser.until("the refusal", "return !document.querySelector('#error').hidden").await;
        assert_eq!(browser.text("#error").await, "/cache: changed by someone else meanwhile; nothing was written");
        assert!(browser.text("#details tr[data-name=memory_mb]").await.contains("999"), "their version shown");
        assert_eq!(browser.eval("return document.querySelector('#edit-text').value", vec![]).await, json!("{\"memory_mb\": 1}"), "the edit kept");
        zczk(&served.zk, &["get", "/cache"]).assert().success().stdout(predicates::str::contains("999"));
        browser.client.close().await.unwrap();
    }
}

needs_browser! {
    /// Without --write the page previews but cannot apply: the button is off, and a request
    /// made anyway is refused with one line and changes nothing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_write_the_apply_is_refused() {
        let served = Served::start();
        zczk(&served.zk, &["import", "-"]).write_stdin(SERVICES).assert().success();
        let ui = Ui::start(&served.zk, false);
        let browser = Browser::start().await;
        browser.open(&ui).await;
        assert_eq!(browser.text("#mode").await, "read-only");
        browser.click("nav button[data-tab=import]").await;
        let changed = SERVICES.replace("color = 'blue'", "color = 'red'");
        browser.eval("document.querySelector('#import-text').value = arguments[0]", vec![json!(changed)]).await;
        browser.click("#preview").await;
        browser.until("the plan", "return document.querySelectorAll('#plan div').length === 1").await;
        assert_eq!(browser.element("#apply").await.prop("disabled").await.unwrap().as_deref(), Some("true"));
        // The page's own code asked to apply anyway: refused, the refusal shown as one line.
        browser.eval("document.querySelector('#apply').disabled = false", vec![]).await;
        browser.click("#apply").await;
        browser.until("the refusal", "return !document.querySelector('#error').hidden").await;
        assert_eq!(browser.text("#error").await, "zczk ui was started without --write: the page changes nothing");
        zczk(&served.zk, &["get", "/web"]).assert().success().stdout(predicates::str::contains("\"blue\""));
        browser.client.close().await.unwrap();
    }
}
