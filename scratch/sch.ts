import { Schema } from "effect"
import * as Manifest from "../src/domain/Manifest.ts"
const S = Schema.Struct({ a: Schema.optionalKey(Schema.Never.annotate({ message: "set by the host" })) })
console.log(String(Schema.decodeUnknownExit(S)({ a: "x" })))
