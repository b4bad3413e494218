//! audit in Rust: async action `post.saved(id, author?)`, writes an audit line through gn_log. The same behaviour
//! as examples/plugins/audit and examples/c/audit (test/SameBehaviour.test.ts compares the lines).
use hookbus::{log, now_ms, Call, Json, Level, Reply};

fn saved(args: &[Json]) -> Reply {
    let id = match args.first() {
        Some(Json::String(id)) => id.clone(),
        Some(other) => other.to_json(),
        None => return Reply::error("post.saved needs the post id", "E_ARGS"),
    };
    let author = args.get(1).and_then(Json::as_str).unwrap_or("unknown");
    log(Level::Info, &format!("audit: post {} saved by {} at {}", id, author, now_ms()));
    Reply::Ok
}

fn handle(hook: &str, call: Call) -> Reply {
    match (hook, call) {
        ("post.saved", Call::Action { args }) => saved(&args),
        _ => Reply::UnknownHook,
    }
}

hookbus::plugin!(handle);
