//! audit in Rust: async action `post.saved(id, author?)`, writes an audit line through gn_log. The same behaviour
//! as examples/plugins/audit and examples/c/audit (test/SameBehaviour.test.ts compares the lines).
use hookbus::{log, now_ms, Call, Json, Level, Reply};

/// Milliseconds since the epoch as ISO 8601 in UTC (`1970-01-01T00:00:00.000Z`): the civil date from a day count,
/// after Howard Hinnant's `civil_from_days`.
fn iso(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rest = ms.rem_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        y,
        m,
        d,
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000
    )
}

fn saved(args: &[Json]) -> Reply {
    let id = match args.first() {
        Some(Json::String(id)) => id.clone(),
        Some(other) => other.to_json(),
        None => return Reply::error("post.saved needs the post id", "E_ARGS"),
    };
    let author = args.get(1).and_then(Json::as_str).unwrap_or("unknown");
    log(Level::Info, &format!("audit: post {} saved by {} at {}", id, author, iso(now_ms())));
    Reply::Ok
}

fn handle(hook: &str, call: Call) -> Reply {
    match (hook, call) {
        ("post.saved", Call::Action { args }) => saved(&args),
        _ => Reply::UnknownHook,
    }
}

hookbus::plugin!(handle);
