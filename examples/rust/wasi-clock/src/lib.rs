//! wasi-clock in Rust, built for wasm32-wasi: a module that uses WASI preview 1 through Rust's std (the clock,
//! randomness and stdout/stderr) next to the hookbus ABI. Its manifest asks for `wasi.clock` and `wasi.random`.
//!   wasi.now     (filter)  the wall clock in Unix milliseconds, from std::time::SystemTime (clock_time_get)
//!   wasi.random  (filter)  a hash keyed by std's RandomState (random_get)
//!   wasi.say     (action)  println! and eprintln! a line each (fd_write to stdout and stderr)
use hookbus::{Call, Json, Reply};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

fn handle(hook: &str, call: Call) -> Reply {
    match (hook, call) {
        ("wasi.now", Call::Filter { .. }) => match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(since) => Reply::value(Json::int(since.as_millis() as i64)),
            Err(_) => Reply::error("the clock is before 1970", "E_CLOCK"),
        },
        ("wasi.random", Call::Filter { .. }) => {
            let mut hasher = RandomState::new().build_hasher();
            hasher.write_u8(1);
            Reply::value(Json::String(format!("{:016x}", hasher.finish())))
        }
        ("wasi.say", Call::Action { args }) => {
            let who = args.first().and_then(Json::as_str).unwrap_or("nobody");
            println!("hello, {}", who);
            eprintln!("careful, {}", who);
            Reply::Ok
        }
        _ => Reply::UnknownHook,
    }
}

hookbus::plugin!(handle);
