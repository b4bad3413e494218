// slugify: filter `post.slug`, turns a title into a URL slug.
//
// Unicode handling, as far as AssemblyScript allows (it has Unicode case mapping but no normalization and no
// Unicode character classes):
//  - text is lowercased with full Unicode case mapping ("ÉCOLE" -> "école");
//  - Latin letters with diacritics from Latin-1 and Latin Extended-A are folded to ASCII ("é" -> "e", "ß" -> "ss",
//    "ø" -> "o", "ł" -> "l"); combining marks (U+0300-U+036F) are dropped, so decomposed input folds too;
//  - other letters (Greek, Cyrillic, CJK, ...) are kept as they are, lowercased; they are valid in IRIs;
//  - ASCII punctuation, spaces, symbols, general punctuation, arrows, CJK punctuation and emoji become separators;
//  - final sigma (U+03C2) becomes sigma, so a word has one slug wherever it ends;
//  - runs of separators collapse to one "-", with none at either end; the slug is at most 96 code points, cut
//    before the first piece (a folding, with its dash) that would not fit whole.
//
// This is the shared slug spec: the C and Rust slugify examples implement it too, and
// test/SameBehaviour.test.ts holds all three to identical outputs.
import { filter, Result, Value } from "@hookbus/assemblyscript"
export { gn_abi_version, gn_alloc, gn_free, gn_handle_hook } from "@hookbus/assemblyscript"

const MAX_LENGTH: i32 = 96

// Pairs of (letter, ASCII folding), Latin-1 Supplement and Latin Extended-A, lowercase.
const FOLDS = "àaáaâaãaäaåaæaeçcèeéeêeëeìiíiîiïiðdñnòoóoôoõoöoøoùuúuûuüuýyþthßssÿyāaăaąaćcĉcċcčcďdđdēeĕeėeęeěeĝgğgġgģgĥhħhĩiīiĭiįiıiĳijĵjķkĸkĺlļlľlŀlłlńnņnňnŉnŋnōoŏoőoœoeŕrŗrřrśsŝsşsšsţtťtŧtũuūuŭuůuűuųuŵwŷyźzżzžzſs"

const folds = new Map<i32, string>()

function loadFolds(): void {
  let i = 0
  while (i < FOLDS.length) {
    const letter = FOLDS.charCodeAt(i)
    i++
    let j = i
    // The folding runs until the next non-ASCII character.
    while (j < FOLDS.length && FOLDS.charCodeAt(j) < 0x80) j++
    folds.set(letter, FOLDS.substring(i, j))
    i = j
  }
}
loadFolds()

function isSeparator(c: i32): bool {
  if (c < 0x80) return !((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a))
  return (c >= 0x80 && c <= 0xbf) || c == 0xd7 || c == 0xf7 || (c >= 0x2000 && c <= 0x2bff) ||
    (c >= 0x3000 && c <= 0x303f) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff0f) ||
    (c >= 0x1f000 && c <= 0x1faff) || c == 0xfeff
}

export function slugify(title: string): string {
  const out: Array<string> = []
  let length = 0
  let pendingDash = false
  let i = 0
  // Lowercased one code point at a time, so a long title costs only as much as the slug it yields.
  while (i < title.length && length < MAX_LENGTH) {
    const original = title.codePointAt(i)
    i += original > 0xffff ? 2 : 1
    const lower = String.fromCodePoint(original).toLowerCase()
    let j = 0
    while (j < lower.length) {
      let c = lower.codePointAt(j)
      j += c > 0xffff ? 2 : 1
      if (c >= 0x300 && c <= 0x36f) continue
      if (isSeparator(c)) {
        pendingDash = length > 0
        continue
      }
      // Final sigma is folded to sigma: a word gets one slug wherever it ends.
      if (c == 0x3c2) c = 0x3c3
      const folded = folds.has(c) ? folds.get(c) : String.fromCodePoint(c)
      // Folds are ASCII, so their length is their count of code points; any other piece is one code point.
      const need = (folds.has(c) ? folded.length : 1) + (pendingDash ? 1 : 0)
      if (length + need > MAX_LENGTH) return out.join("")
      if (pendingDash) out.push("-")
      out.push(folded)
      length += need
      pendingDash = false
    }
  }
  return out.join("")
}

filter("post.slug", (value: Value, args: Array<Value>): Result => {
  if (!value.isString) return Result.error("post.slug takes a title string", "E_TYPE")
  return Result.value(Value.string(slugify(value.asString())))
})
