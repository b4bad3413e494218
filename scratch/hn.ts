import * as H from "../src/domain/HookName.ts"
for (const s of ["a\u0000b", "x\ny", "\ud83d", "👋ok", "a\u202eb", "the_content", "\u0085"]) console.log(JSON.stringify(s), H.problem(s))
