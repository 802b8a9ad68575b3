//! `zczk ui`: its HTTP API, through an HTTP client, on `mem:`, `file:` and `zczk serve`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command as StdCommand, Stdio};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tempfile::TempDir;

pub(crate) const SERVICES: &str = include_str!("../examples/services.zk");

/// A `zczk ui` process on a free port, killed when dropped.
pub(crate) struct Ui {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub(crate) url: String,
}

impl Ui {
    pub(crate) fn start(zk: &str, write: bool) -> Ui {
        let mut command = StdCommand::new(assert_cmd::cargo::cargo_bin("zczk"));
        command.args(["ui", "--zk", zk, "--listen", "127.0.0.1:0"]);
        if write {
            command.arg("--write");
        }
        Ui::spawn(command)
    }

    /// Runs `command` (a `zczk ui` command line) and waits for its address.
    fn spawn(mut command: StdCommand) -> Ui {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.trim().trim_end_matches('/').to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "zczk ui printed {line:?}");
        Ui { child, url }
    }

    fn host(&self) -> String {
        self.url.trim_start_matches("http://").to_string()
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An answer: the status and the body as JSON (`Null` when it is not JSON), or as text.
struct Answer {
    status: u16,
    json: Value,
    text: String,
}

/// Sends a request to the ui, with `headers` (a `host` among them replaces the usual one).
async fn send(ui: &Ui, method: &str, path: &str, headers: &[(&str, &str)], body: Option<Value>) -> Answer {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = Request::builder().method(method).uri(format!("{}{path}", ui.url));
    if !headers.iter().any(|(name, _)| *name == "host") {
        request = request.header("host", ui.host());
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = match body {
        Some(body) => {
            request = request.header("content-type", "application/json");
            Full::new(Bytes::from(body.to_string()))
        }
        None => Full::new(Bytes::new()),
    };
    let response = client.request(request.body(body).unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Answer { status, json: serde_json::from_str(&text).unwrap_or(Value::Null), text }
}

async fn get(ui: &Ui, path: &str) -> Answer {
    send(ui, "GET", path, &[], None).await
}

/// The write token the page of `ui` carries (empty without --write).
async fn token(ui: &Ui) -> String {
    let page = get(ui, "/").await;
    assert_eq!(page.status, 200);
    let start = page.text.find("name=\"zczk-token\" content=\"").expect("the token's meta tag") + 27;
    page.text[start..].split('"').next().unwrap().to_string()
}

/// A write as the page makes it: its token, from its own origin.
async fn write(ui: &Ui, token: &str, path: &str, body: Value) -> Answer {
    let origin = ui.url.clone();
    send(ui, "POST", path, &[("x-zczk-token", token), ("origin", &origin)], Some(body)).await
}

/// `zczk ARGS --zk ZK`.
fn zczk(zk: &str, args: &[&str]) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("zczk").unwrap();
    command.args(args).args(["--zk", zk]);
    command
}

fn enc(path: &str) -> String {
    path.replace('/', "%2F").replace(':', "%3A")
}

#[test]
fn help_names_the_flags() {
    let help = assert_cmd::Command::cargo_bin("zczk").unwrap().args(["ui", "--help"]).output().unwrap();
    let text = String::from_utf8(help.stdout).unwrap();
    for flag in ["--listen", "--write", "--zk", "127.0.0.1:8181"] {
        assert!(text.contains(flag), "{flag} missing from:\n{text}");
    }
}

/// The page and its assets come from the binary; it carries a token only with --write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_served_from_the_binary() {
    let ui = Ui::start("mem:", false);
    let page = get(&ui, "/").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("<script src=\"/app.js\""), "{}", page.text);
    assert!(!page.text.contains("http://") && !page.text.contains("https://"), "nothing from elsewhere");
    assert_eq!(token(&ui).await, "");
    for asset in ["/app.js", "/style.css"] {
        let answer = get(&ui, asset).await;
        assert_eq!(answer.status, 200, "{asset}");
        assert!(!answer.text.contains("https://"), "{asset} fetches nothing from elsewhere");
    }
    assert_eq!(get(&ui, "/api/info").await.json, json!({"connection": "mem:", "write": false}));
    let writer = Ui::start("mem:", true);
    let token = token(&writer).await;
    assert_eq!(token.len(), 64, "{token}");
    assert_ne!(token, self::token(&Ui::start("mem:", true)).await, "a new token for each run");
}

/// Credentials stay in the server: neither the page nor the API shows them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_never_reach_the_page() {
    let mut command = StdCommand::new(assert_cmd::cargo::cargo_bin("zczk"));
    command.args(["ui", "--zk", "mem:", "--listen", "127.0.0.1:0", "--auth", "digest:admin:s3cret"]);
    let ui = Ui::spawn(command);
    for path in ["/", "/api/info", "/app.js", "/api/node?path=%2F"] {
        let answer = get(&ui, path).await;
        assert_eq!(answer.status, 200, "{path}");
        assert!(!answer.text.contains("s3cret") && !answer.text.contains("admin"), "{path}: {}", answer.text);
    }
}

/// The tree a level at a time, node details with links followed, Stat, the graph, and an
/// import's plan, on `mem:` (filled through the page's own import).
async fn reads_show_the_tree_links_and_graph(zk: &str) {
    let ui = Ui::start(zk, true);
    let token = token(&ui).await;
    let applied = write(&ui, &token, "/api/import/apply", json!({"text": SERVICES})).await;
    assert_eq!((applied.status, &applied.json), (200, &json!({"lines": []})));

    let root = get(&ui, "/api/children?path=%2F").await;
    assert_eq!(root.status, 200, "{}", root.text);
    let names: Vec<&str> =
        root.json["children"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    // `/zookeeper` is there, except below a chroot.
    assert_eq!(
        names.into_iter().filter(|n| *n != "zookeeper").collect::<Vec<_>>(),
        ["cache", "config", "databases", "lb", "web"]
    );
    let web = &root.json["children"][4];
    assert_eq!(
        (web["path"].as_str(), web["type"].as_str(), web["children"].as_i64()),
        (Some("/web"), Some("wsgi"), Some(1))
    );

    let node = get(&ui, "/api/node?path=%2Fweb").await;
    assert_eq!(node.status, 200, "{}", node.text);
    let entry = |name: &str| {
        node.json["entries"].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap().clone()
    };
    assert_eq!(
        entry("db"),
        json!({"name": "db", "kind": "node link", "value": "/databases/main/providers", "resolved": "/databases/main/providers"})
    );
    assert_eq!(
        entry("threads"),
        json!({"name": "threads", "kind": "property link", "value": 4, "target": "/config/web threads"})
    );
    assert_eq!(entry("color"), json!({"name": "color", "kind": "property", "value": "blue"}));
    assert_eq!(node.json["type"], "wsgi");
    assert_eq!(node.json["ephemeral_owner"], Value::Null);
    // A virtual path is resolved: the relative link of /lb leads to /web/providers.
    let linked = get(&ui, &format!("/api/node?path={}", enc("/lb/web"))).await;
    assert_eq!(linked.json["path"], "/web/providers");

    let stat = get(&ui, "/api/stat?path=%2Fweb").await;
    assert_eq!((stat.json["numChildren"].as_i64(), stat.json["version"].as_i64()), (Some(1), Some(0)));

    let graph = get(&ui, "/api/graph").await;
    assert_eq!(graph.status, 200);
    let expected = assert_cmd::Command::cargo_bin("zczk")
        .unwrap()
        .args(["graph", "--format", "svg", "-"])
        .write_stdin(SERVICES)
        .output()
        .unwrap();
    assert_eq!(
        graph.json["svg"].as_str().unwrap(),
        String::from_utf8(expected.stdout).unwrap(),
        "the layout of zczk graph"
    );
    assert_eq!(graph.json["providers"], json!({"/cache": 0, "/databases/main": 0, "/lb": 0, "/web": 0}));

    let changed = SERVICES.replace("color = 'blue'", "color = 'red'") + "/search\n  /providers\n";
    let plan = send(&ui, "POST", "/api/import/preview", &[], Some(json!({"text": changed}))).await;
    assert_eq!(
        plan.json,
        json!({"lines": ["add /search", "add /search/providers", "/web color change from blue to red"]})
    );
    assert_eq!(
        get(&ui, "/api/node?path=%2Fweb").await.json["properties"]["color"],
        "blue",
        "a preview writes nothing"
    );

    let missing = get(&ui, "/api/node?path=%2Fnope").await;
    assert_eq!(missing.status, 404);
    assert!(missing.json["error"].as_str().unwrap().contains("/nope"), "{}", missing.text);
}

/// [`reads_show_the_tree_links_and_graph`] on `mem:` and on the real server.
mod reads_show_the_tree_links_and_graph {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mem() {
        super::reads_show_the_tree_links_and_graph("mem:").await;
    }

    zczk_conformance::needs_real_server! {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn zookeeper() {
            let target = crate::cli_zk::real_target("ui_reads");
            super::reads_show_the_tree_links_and_graph(&target.zk).await;
        }
    }
}

/// A node's children come a page at a time, in name order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_come_a_page_at_a_time() {
    let ui = Ui::start("mem:", true);
    let token = token(&ui).await;
    let text: String =
        std::iter::once("/big\n".to_string()).chain((0..1500).map(|i| format!("  /n{i:04}\n"))).collect();
    assert_eq!(write(&ui, &token, "/api/import/apply", json!({ "text": text })).await.status, 200);
    let first = get(&ui, "/api/children?path=%2Fbig").await.json;
    assert_eq!((first["total"].as_u64(), first["children"].as_array().unwrap().len()), (Some(1500), 1000));
    assert_eq!(first["children"][999]["name"], "n0999");
    let rest = get(&ui, "/api/children?path=%2Fbig&offset=1000").await.json;
    assert_eq!(rest["children"].as_array().unwrap().len(), 500);
    assert_eq!(rest["children"][0]["name"], "n1000");
}

/// Without --write every write is refused and nothing changes; with it, a write needs the
/// token, the page's origin and a Host naming this server. Checked on a `file:` store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_need_write_the_token_and_the_pages_origin() {
    let dir = TempDir::new().unwrap();
    let zk = format!("file:{}", dir.path().join("zk.db").display());
    zczk(&zk, &["import", "-"]).write_stdin(SERVICES).assert().success();
    let edit = |version: i64| json!({"path": "/web", "version": version, "properties": {"color": "green"}});
    let apply = json!({"text": "/web\n  color = 'green'\n"});
    {
        let ui = Ui::start(&zk, false);
        for (path, body) in [("/api/import/apply", &apply), ("/api/properties", &edit(0))] {
            let refused = write(&ui, "", path, body.clone()).await;
            assert_eq!(refused.status, 403, "{path}");
            assert_eq!(
                refused.json["error"],
                "zczk ui was started without --write: the page changes nothing"
            );
        }
        assert_eq!(get(&ui, "/api/node?path=%2Fweb").await.json["properties"]["color"], "blue");
    }
    let ui = Ui::start(&zk, true);
    let token = token(&ui).await;
    let origin = ui.url.clone();
    let refusals: [(&[(&str, &str)], &str); 5] = [
        (&[("origin", &origin)], "a write needs this run's token, which only the page has"),
        (
            &[("origin", &origin), ("x-zczk-token", "0123")],
            "a write needs this run's token, which only the page has",
        ),
        (
            &[("origin", "http://evil.example"), ("x-zczk-token", &token)],
            "a write from another origin is refused",
        ),
        (
            &[("sec-fetch-site", "cross-site"), ("x-zczk-token", &token)],
            "a write from another site is refused",
        ),
        (
            &[("host", "evil.example"), ("x-zczk-token", &token)],
            "the request's Host is not this server's address",
        ),
    ];
    for (headers, message) in refusals {
        for (path, body) in [("/api/import/apply", &apply), ("/api/properties", &edit(0))] {
            let refused = send(&ui, "POST", path, headers, Some(body.clone())).await;
            assert_eq!(
                (refused.status, refused.json["error"].as_str()),
                (403, Some(message)),
                "{path} {headers:?}"
            );
        }
    }
    // Reads too need a Host naming this server (a DNS name of another site's cannot reach it).
    assert_eq!(
        send(&ui, "GET", "/api/node?path=%2Fweb", &[("host", "evil.example:80")], None).await.status,
        403
    );
    assert_eq!(
        get(&ui, "/api/node?path=%2Fweb").await.json["properties"]["color"],
        "blue",
        "nothing changed"
    );
    let applied = write(&ui, &token, "/api/import/apply", apply).await;
    assert_eq!(applied.status, 200, "{}", applied.text);
    assert_eq!(get(&ui, "/api/node?path=%2Fweb").await.json["properties"]["color"], "green");
}

/// An edit is a compare-and-set on the version the page read: a concurrent change is kept
/// and shown; bad input changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_is_compare_and_set_and_bad_input_changes_nothing() {
    let ui = Ui::start("mem:", true);
    let token = token(&ui).await;
    assert_eq!(write(&ui, &token, "/api/import/apply", json!({"text": SERVICES})).await.status, 200);
    let read = get(&ui, "/api/node?path=%2Fcache").await.json;
    let version = read["version"].as_i64().unwrap();
    let mine = write(
        &ui,
        &token,
        "/api/properties",
        json!({"path": "/cache", "version": version, "properties": {"memory_mb": 1024}}),
    )
    .await;
    assert_eq!((mine.status, mine.json["version"].as_i64()), (200, Some(version + 1)), "{}", mine.text);
    // A second edit made from the same read comes too late: refused, the first one is shown.
    let late = write(
        &ui,
        &token,
        "/api/properties",
        json!({"path": "/cache", "version": version, "properties": {"memory_mb": 1}}),
    )
    .await;
    assert_eq!(late.status, 409, "{}", late.text);
    assert_eq!(late.json["error"], "/cache: changed by someone else meanwhile; nothing was written");
    assert_eq!(late.json["current"]["properties"], json!({"memory_mb": 1024}));

    let before = get(&ui, "/api/node?path=%2Fcache").await.json;
    let bad_link = write(
        &ui,
        &token,
        "/api/properties",
        json!({"path": "/cache", "version": version + 1, "properties": {"x =>": "/missing"}}),
    )
    .await;
    assert_eq!(bad_link.status, 400, "{}", bad_link.text);
    let not_json = send(&ui, "POST", "/api/properties", &[("x-zczk-token", &token)], None).await;
    assert!(not_json.status >= 400 && not_json.status < 500, "{}", not_json.status);
    let bad_text =
        write(&ui, &token, "/api/import/apply", json!({"text": "/cache\n  memory_mb = 1+2\n"})).await;
    assert_eq!(bad_text.status, 400);
    assert!(bad_text.json["error"].as_str().unwrap().starts_with("line 2, column "), "{}", bad_text.text);
    let preview = send(&ui, "POST", "/api/import/preview", &[], Some(json!({"text": "/a\n/a\n"}))).await;
    assert_eq!(preview.status, 400, "{}", preview.text);
    let bad_path = get(&ui, "/api/children?path=nope").await;
    assert_eq!(bad_path.status, 400, "{}", bad_path.text);
    assert!(!bad_path.json["error"].as_str().unwrap().contains('\n'));
    assert_eq!(get(&ui, "/api/node?path=%2Fcache").await.json, before, "nothing changed");
    // Tree text larger than a web framework's usual 2 MB limit.
    let large = format!("/large\n# {}\n", "x".repeat(3 << 20));
    let plan = send(&ui, "POST", "/api/import/preview", &[], Some(json!({ "text": large }))).await;
    assert_eq!((plan.status, &plan.json), (200, &json!({"lines": ["add /large"]})));
}

/// Reads the server-sent events of `path` and gives each event's kind and data.
async fn events(ui: &Ui, path: &str) -> tokio::sync::mpsc::UnboundedReceiver<(String, Value)> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = Request::get(format!("{}{path}", ui.url))
        .header("host", ui.host())
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let (send, receive) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut body = response.into_body();
        let mut buffer = String::new();
        while let Some(Ok(frame)) = body.frame().await {
            let Ok(data) = frame.into_data() else { continue };
            buffer.push_str(&String::from_utf8_lossy(&data));
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    block.lines().find_map(|l| l.strip_prefix(name)).map(str::trim).map(String::from)
                };
                if let (Some(kind), Some(data)) = (field("event:"), field("data:")) {
                    if send.send((kind, serde_json::from_str(&data).unwrap())).is_err() {
                        return;
                    }
                }
            }
        }
    });
    receive
}

async fn next(events: &mut tokio::sync::mpsc::UnboundedReceiver<(String, Value)>) -> (String, Value) {
    tokio::time::timeout(Duration::from_secs(20), events.recv()).await.unwrap().expect("an event")
}

/// A provider registering (by another process, through `zczk serve`) is pushed to the page.
async fn changes_are_pushed_as_server_sent_events(zk: &str) {
    zczk(zk, &["import", "-"]).write_stdin(SERVICES).assert().success();
    let ui = Ui::start(zk, false);
    let follow = format!("/api/events?children={}&node=%2Fcache", "%5B%22%2Fweb%2Fproviders%22%5D");
    let mut events = events(&ui, &follow).await;
    let mut first = vec![next(&mut events).await, next(&mut events).await];
    first.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        first,
        [
            ("children".to_string(), json!({"path": "/web/providers", "deleted": false})),
            ("node".to_string(), json!({"path": "/cache", "deleted": false})),
        ]
    );
    let mut register = crate::cli_zk::Killed(
        StdCommand::new(assert_cmd::cargo::cargo_bin("zczk"))
            .args(["register", "--zk", zk, "/web/providers", "127.0.0.1:9000"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert_eq!(
        next(&mut events).await,
        ("children".to_string(), json!({"path": "/web/providers", "deleted": false}))
    );
    let children = get(&ui, &format!("/api/children?path={}", enc("/web/providers"))).await.json;
    assert_eq!(children["children"][0]["name"], "127.0.0.1:9000");
    assert!(children["children"][0]["ephemeral_owner"].as_str().unwrap().starts_with("0x"));
    zczk(zk, &["set-property", "/cache", "memory_mb=256"]).assert().success();
    assert_eq!(next(&mut events).await, ("node".to_string(), json!({"path": "/cache", "deleted": false})));
    let _ = register.0.kill();
    let bad = get(&ui, "/api/events?children=%2Fweb").await;
    assert_eq!(bad.status, 400, "{}", bad.text);
}

/// [`changes_are_pushed_as_server_sent_events`] on `zczk serve` and on the real server.
mod changes_are_pushed_as_server_sent_events {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn served() {
        let served = crate::cli_zk::Served::start();
        super::changes_are_pushed_as_server_sent_events(&served.zk).await;
    }

    zczk_conformance::needs_real_server! {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn zookeeper() {
            let target = crate::cli_zk::real_target("ui_events");
            super::changes_are_pushed_as_server_sent_events(&target.zk).await;
        }
    }
}
