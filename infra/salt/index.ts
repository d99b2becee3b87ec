export { SaltMaster, type SaltMasterArgs, REMOTE_STATES_DIR } from "./master";
export { SaltMinion, type SaltMinionArgs } from "./minion";
export {
  SaltCluster,
  type SaltClusterArgs,
  type ClusterMinion,
  type MasterSsh,
  masterSshOf,
} from "./cluster";
export { contentHash } from "./remote";
