//! hookbus guest SDK for Rust: implements ABI v1 (docs/abi-v1.md) so a plugin only writes handlers, one function
//! that matches on the hook name.
//!
//! ```ignore
//! use hookbus::{Call, Json, Reply};
//!
//! fn handle(hook: &str, call: Call) -> Reply {
//!     match (hook, call) {
//!         ("the_content", Call::Filter { value: Json::String(text), .. }) => Reply::value(Json::String(text.to_uppercase())),
//!         ("the_content", Call::Filter { .. }) => Reply::error("the_content must be a string", "E_TYPE"),
//!         _ => Reply::UnknownHook,
//!     }
//! }
//!
//! hookbus::plugin!(handle);
//! ```
//!
//! Build with Debian's rustc (its wasm32 standard library is the package libstd-rust-dev-wasm32):
//!
//! ```sh
//! rustc --edition 2021 --target wasm32-unknown-unknown -C opt-level=2 -C panic=abort --crate-type rlib \
//!   --crate-name hookbus -o build/libhookbus.rlib sdk/rust/src/lib.rs
//! rustc --edition 2021 --target wasm32-unknown-unknown -C opt-level=2 -C panic=abort --crate-type cdylib \
//!   -C link-arg=--stack-first --extern hookbus=build/libhookbus.rlib -o plugin.wasm src/lib.rs
//! ```
//!
//! Memory: the host's blocks and result bodies come from Rust's system allocator (dlmalloc on wasm32), which
//! frees and reuses; every value a handler makes is dropped when the call returns, so memory stays flat. Out of
//! memory inside a handler traps with "hookbus: out of memory"; `gn_alloc` answers 0.

pub mod json;

pub use json::{parse, Json};

/// ABI statuses, for `Reply::Status`.
pub const STATUS_ERROR: i32 = -1;
pub const STATUS_OUT_OF_MEMORY: i32 = -2;
pub const STATUS_BAD_PAYLOAD: i32 = -3;
pub const STATUS_UNKNOWN_HOOK: i32 = -4;

/// One call, as the host sent it.
#[derive(Debug)]
pub enum Call {
    /// A filter: the value (`Json::Null` when missing) and the arguments.
    Filter { value: Json, args: Vec<Json> },
    /// An action: the arguments.
    Action { args: Vec<Json> },
}

/// What a handler returns.
#[derive(Debug)]
pub enum Reply {
    /// Success with no body: a filter leaves the value unchanged; an action is done.
    Ok,
    /// Filter: the next value.
    Value(Json),
    /// Filter: stop the chain with this value.
    ShortCircuit(Json),
    /// A guest error with a message and an optional code: the host reports `GuestError`.
    Error { message: String, code: Option<String> },
    /// The plugin does not handle this hook (status -4): the answer for every name a `match` does not know.
    UnknownHook,
    /// A raw ABI status (`STATUS_*`); a non-negative one is reported as `STATUS_ERROR`.
    Status(i32),
}

impl Reply {
    /// Filter: the next value.
    pub fn value(value: Json) -> Reply {
        Reply::Value(value)
    }
    /// A guest error with a message and a code (empty for none).
    pub fn error(message: &str, code: &str) -> Reply {
        Reply::Error { message: String::from(message), code: if code.is_empty() { None } else { Some(String::from(code)) } }
    }
}

/// Log levels for `log`.
#[derive(Clone, Copy, Debug)]
pub enum Level {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

mod host {
    #[link(wasm_import_module = "env")]
    extern "C" {
        pub fn gn_log(level: i32, ptr: *const u8, len: i32);
        pub fn gn_panic(ptr: *const u8, len: i32) -> !;
        pub fn gn_time_ms() -> i64;
        pub fn gn_config_get(ptr: *const u8, len: i32) -> i64;
    }
}

/// Writes a line to the host's Effect logger (imports `gn_log`).
pub fn log(level: Level, message: &str) {
    unsafe { host::gn_log(level as i32, message.as_ptr(), message.len() as i32) }
}

/// Traps the call with `message` (imports `gn_panic`; the host reports `Trapped`, kind "panic"). A Rust `panic!`
/// does the same, with the panic's message and location.
pub fn panic(message: &str) -> ! {
    unsafe { host::gn_panic(message.as_ptr(), message.len() as i32) }
}

/// The host's wall clock, Unix milliseconds (imports `gn_time_ms`).
pub fn now_ms() -> i64 {
    unsafe { host::gn_time_ms() }
}

/// A key of the manifest's `config` as JSON text (`"hello"` with its quotes, `42`), or `None` when the config has no
/// such key or the host could not answer (ABI v1.1; imports `gn_config_get` only when called). `json::parse`
/// reads the text.
pub fn config_get(key: &str) -> Option<String> {
    let packed = unsafe { host::gn_config_get(key.as_ptr(), key.len() as i32) };
    let ptr = ((packed as u64) >> 32) as u32;
    let len = packed as i32;
    // (0, 0): no such key; (0, negative): the host could not answer (docs/abi-v1.md, section 8).
    if ptr == 0 || len <= 0 {
        return None;
    }
    let text = {
        let bytes = unsafe { std::slice::from_raw_parts(ptr as *const u8, len as usize) };
        String::from_utf8_lossy(bytes).into_owned()
    };
    // The host's block comes from gn_alloc and is the guest's to free.
    unsafe { abi::gn_free(ptr as i32, len) };
    Some(text)
}

/// Rust's allocator (dlmalloc on wasm32), except that running out of memory traps with "hookbus: out of memory"
/// through `gn_panic` (as the C SDK does) instead of a bare `unreachable`. `gn_alloc` bypasses it and answers 0.
struct Allocator;

unsafe impl std::alloc::GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let ptr = std::alloc::System.alloc(layout);
        if ptr.is_null() {
            panic("hookbus: out of memory");
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        std::alloc::System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, size: usize) -> *mut u8 {
        let grown = std::alloc::System.realloc(ptr, layout, size);
        if grown.is_null() {
            panic("hookbus: out of memory");
        }
        grown
    }
}

#[global_allocator]
static ALLOCATOR: Allocator = Allocator;

/// The ABI glue `plugin!` expands to; not for direct use.
#[doc(hidden)]
pub mod abi {
    use super::{json, Call, Json, Reply};
    use std::alloc::{GlobalAlloc, Layout, System};

    // Blocks have alignment 1 and at least one byte, so gn_free can rebuild the layout from the size alone.
    fn layout(size: i32) -> Option<Layout> {
        Layout::from_size_align((size.max(1)) as usize, 1).ok()
    }

    pub fn gn_alloc(size: i32) -> i32 {
        if size < 0 {
            return 0;
        }
        match layout(size) {
            // System, not the global allocator: out of memory here is a 0 for the host, not a trap.
            Some(l) => unsafe { System.alloc(l) as i32 },
            None => 0,
        }
    }

    /// # Safety
    /// `ptr` must come from `gn_alloc(size)` or be a result block of `size` bytes, freed once.
    pub unsafe fn gn_free(ptr: i32, size: i32) {
        if ptr == 0 || size < 0 {
            return;
        }
        if let Some(l) = layout(size) {
            System.dealloc(ptr as *mut u8, l)
        }
    }

    fn pack(ptr: u32, len: i32) -> i64 {
        (((ptr as u64) << 32) | (len as u32 as u64)) as i64
    }

    fn install_panic_hook() {
        static mut INSTALLED: bool = false;
        // Single-threaded: a guest instance runs one call at a time.
        unsafe {
            if INSTALLED {
                return;
            }
            INSTALLED = true;
        }
        std::panic::set_hook(Box::new(|info| super::panic(&info.to_string())));
    }

    fn take(entries: &mut Vec<(String, Json)>, key: &str) -> Option<Json> {
        let at = entries.iter().position(|(k, _)| k == key)?;
        Some(entries.swap_remove(at).1)
    }

    fn body(value: Json, short_circuit: bool) -> String {
        let mut out = String::from("{\"value\":");
        json::write(&mut out, &value);
        out.push_str(if short_circuit { ",\"shortCircuit\":true}" } else { "}" });
        out
    }

    fn dispatch(name: &str, payload: &str, handler: fn(&str, Call) -> Reply) -> Result<String, i32> {
        let mut entries = match json::parse(payload) {
            Some(Json::Object(entries)) => entries,
            _ => return Err(super::STATUS_BAD_PAYLOAD),
        };
        let args = match take(&mut entries, "args") {
            Some(Json::Array(items)) => items,
            _ => Vec::new(),
        };
        let call = match take(&mut entries, "kind") {
            Some(Json::String(kind)) if kind == "filter" => {
                Call::Filter { value: take(&mut entries, "value").unwrap_or(Json::Null), args }
            }
            Some(Json::String(kind)) if kind == "action" => Call::Action { args },
            _ => return Err(super::STATUS_BAD_PAYLOAD),
        };
        match handler(name, call) {
            Reply::Ok => Ok(String::new()),
            Reply::Value(value) => Ok(body(value, false)),
            Reply::ShortCircuit(value) => Ok(body(value, true)),
            Reply::Error { message, code } => {
                let mut out = String::from("{\"error\":{\"message\":");
                json::write_string(&mut out, &message);
                if let Some(code) = code {
                    out.push_str(",\"code\":");
                    json::write_string(&mut out, &code);
                }
                out.push_str("}}");
                Ok(out)
            }
            Reply::UnknownHook => Err(super::STATUS_UNKNOWN_HOOK),
            Reply::Status(status) => Err(if status < 0 { status } else { super::STATUS_ERROR }),
        }
    }

    /// # Safety
    /// The pointers and lengths must describe blocks inside the guest's memory (the host guarantees it).
    pub unsafe fn gn_handle_hook(
        name_ptr: i32,
        name_len: i32,
        payload_ptr: i32,
        payload_len: i32,
        handler: fn(&str, Call) -> Reply,
    ) -> i64 {
        install_panic_hook();
        let bytes = |ptr: i32, len: i32| -> &[u8] {
            if len <= 0 { &[] } else { std::slice::from_raw_parts(ptr as *const u8, len as usize) }
        };
        let (name, payload) = match (
            std::str::from_utf8(bytes(name_ptr, name_len)),
            std::str::from_utf8(bytes(payload_ptr, payload_len)),
        ) {
            (Ok(name), Ok(payload)) => (name, payload),
            _ => return pack(0, super::STATUS_BAD_PAYLOAD),
        };
        match dispatch(name, payload, handler) {
            Ok(body) if body.is_empty() => pack(0, 0),
            // The host frees the body with gn_free(ptr, len): a boxed slice's layout is exactly (len, 1).
            Ok(body) => {
                let block = body.into_bytes().into_boxed_slice();
                let len = block.len() as i32;
                pack(Box::into_raw(block) as *mut u8 as u32, len)
            }
            Err(status) => pack(0, status),
        }
    }
}

/// Declares the plugin: `handler(hook, call) -> Reply` answers every call; the macro writes the ABI exports
/// (`gn_alloc`, `gn_free`, `gn_handle_hook`, `gn_abi_version`). Use once per plugin.
#[macro_export]
macro_rules! plugin {
    ($handler:path) => {
        #[no_mangle]
        pub extern "C" fn gn_alloc(size: i32) -> i32 {
            $crate::abi::gn_alloc(size)
        }
        #[no_mangle]
        pub unsafe extern "C" fn gn_free(ptr: i32, size: i32) {
            $crate::abi::gn_free(ptr, size)
        }
        #[no_mangle]
        pub unsafe extern "C" fn gn_handle_hook(name_ptr: i32, name_len: i32, payload_ptr: i32, payload_len: i32) -> i64 {
            $crate::abi::gn_handle_hook(name_ptr, name_len, payload_ptr, payload_len, $handler)
        }
        #[no_mangle]
        pub extern "C" fn gn_abi_version() -> i32 {
            1
        }
    };
}
