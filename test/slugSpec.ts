/**
 * The shared slug spec in TypeScript: the oracle the C, Rust and AssemblyScript slugify plugins are held to (see
 * the comment at the top of examples/plugins/slugify/assembly/index.ts for the rules).
 */
const FOLDS =
  "àaáaâaãaäaåaæaeçcèeéeêeëeìiíiîiïiðdñnòoóoôoõoöoøoùuúuûuüuýyþthßssÿyāaăaąaćcĉcċcčcďdđdēeĕeėeęeěeĝgğgġgģgĥhħhĩiīiĭiįiıiĳijĵjķkĸkĺlļlľlŀlłlńnņnňnŉnŋnōoŏoőoœoeŕrŗrřrśsŝsşsšsţtťtŧtũuūuŭuůuűuųuŵwŷyźzżzžzſs"

const folds = new Map<number, string>()
for (const [, letter, folding] of FOLDS.matchAll(/([^a-z])([a-z]+)/g)) {
  folds.set(letter.codePointAt(0)!, folding)
}

/** The slug's longest length, in code points. */
export const maxLength = 96

const isSeparator = (c: number): boolean =>
  c < 0x80
    ? !((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a))
    : (c >= 0x80 && c <= 0xbf) || c === 0xd7 || c === 0xf7 || (c >= 0x2000 && c <= 0x2bff) ||
      (c >= 0x3000 && c <= 0x303f) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff0f) ||
      (c >= 0x1f000 && c <= 0x1faff) || c === 0xfeff

/** The slug of `title`. */
export const slugify = (title: string): string => {
  let out = ""
  let length = 0
  let pendingDash = false
  for (const ch of title.toLowerCase()) {
    let c = ch.codePointAt(0)!
    if (c >= 0x300 && c <= 0x36f) continue
    if (isSeparator(c)) {
      pendingDash = length > 0
      continue
    }
    if (c === 0x3c2) c = 0x3c3
    const folded = folds.get(c) ?? String.fromCodePoint(c)
    const need = (folds.has(c) ? folded.length : 1) + (pendingDash ? 1 : 0)
    if (length + need > maxLength) break
    out += (pendingDash ? "-" : "") + folded
    length += need
    pendingDash = false
  }
  return out
}
