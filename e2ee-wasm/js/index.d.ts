// The package's API: the generated declarations, without the glue's
// init functions (the entry points initialise the module themselves).
export { Client, Group, defaultGroupOptions, version } from "./e2ee_wasm.js";
export type {
  CommitBundle,
  Credential,
  E2eeError,
  Event,
  ExternalJoin,
  GroupOptions,
  Intent,
  Member,
  PendingProposal,
  ProposalKind,
} from "./e2ee_wasm.js";
