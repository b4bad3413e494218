//! slugify in Rust: filter `post.slug`, turns a title into a URL slug. The shared slug spec (the rules are in
//! examples/plugins/slugify/assembly/index.ts); test/SameBehaviour.test.ts holds it to the AssemblyScript and C
//! versions. Lowercasing is Rust's `char::to_lowercase` (Unicode 14 in Rust 1.63).
use hookbus::{Call, Json, Reply};

const MAX_LENGTH: usize = 96;

/// Pairs of (letter, ASCII folding), Latin-1 Supplement and Latin Extended-A, lowercase: the same string as the
/// AssemblyScript and C versions.
const FOLDS: &str = "àaáaâaãaäaåaæaeçcèeéeêeëeìiíiîiïiðdñnòoóoôoõoöoøoùuúuûuüuýyþthßssÿyāaăaąaćcĉcċcčcďdđdēeĕeėeęeěeĝgğgġgģgĥhħhĩiīiĭiįiıiĳijĵjķkĸkĺlļlľlŀlłlńnņnňnŉnŋnōoŏoőoœoeŕrŗrřrśsŝsşsšsţtťtŧtũuūuŭuůuűuųuŵwŷyźzżzžzſs";

/// The ASCII folding of letter `c`, if it has one.
fn fold(c: char) -> Option<&'static str> {
    if !('\u{df}'..='\u{17f}').contains(&c) {
        return None;
    }
    let mut rest = FOLDS;
    while let Some(letter) = rest.chars().next() {
        rest = &rest[letter.len_utf8()..];
        let end = rest.find(|ch: char| !ch.is_ascii()).unwrap_or(rest.len());
        if letter == c {
            return Some(&rest[..end]);
        }
        rest = &rest[end..];
    }
    None
}

fn is_separator(c: char) -> bool {
    let c = c as u32;
    if c < 0x80 {
        return !((0x30..=0x39).contains(&c) || (0x61..=0x7a).contains(&c));
    }
    (0x80..=0xbf).contains(&c) || c == 0xd7 || c == 0xf7 || (0x2000..=0x2bff).contains(&c)
        || (0x3000..=0x303f).contains(&c) || (0xfe30..=0xfe4f).contains(&c) || (0xff00..=0xff0f).contains(&c)
        || (0x1f000..=0x1faff).contains(&c) || c == 0xfeff
}

fn slug(title: &str) -> String {
    let mut out = String::new();
    let mut length = 0;
    let mut pending_dash = false;
    for c in title.chars().flat_map(char::to_lowercase) {
        if ('\u{300}'..='\u{36f}').contains(&c) {
            continue;
        }
        if is_separator(c) {
            pending_dash = length > 0;
            continue;
        }
        let c = if c == 'ς' { 'σ' } else { c }; // final sigma folds to sigma
        let folded = fold(c);
        let need = folded.map_or(1, str::len) + usize::from(pending_dash);
        if length + need > MAX_LENGTH {
            break;
        }
        if pending_dash {
            out.push('-');
        }
        match folded {
            Some(ascii) => out.push_str(ascii),
            None => out.push(c),
        }
        length += need;
        pending_dash = false;
    }
    out
}

fn handle(hook: &str, call: Call) -> Reply {
    match (hook, call) {
        ("post.slug", Call::Filter { value: Json::String(title), .. }) => Reply::value(Json::String(slug(&title))),
        ("post.slug", Call::Filter { .. }) => Reply::error("post.slug takes a title string", "E_TYPE"),
        _ => Reply::UnknownHook,
    }
}

hookbus::plugin!(handle);
