/**
 * The package's public API, name by name: what `infra/index.ts` exports (values and types,
 * as the TypeScript compiler resolves its re-exports) against a literal list. Moving a module
 * inside `infra/` must leave this list unchanged; adding or removing a public name is a
 * deliberate edit of it (and of CHANGELOG.md).
 */
import * as path from "path";
import * as ts from "typescript";

const INDEX = path.resolve(__dirname, "../../infra/index.ts");

/** Exported values: what `require("saltpipe")` yields at run time. */
const VALUES = [
  "AMI_LOOKUP",
  "AppImage",
  "AwsHosts",
  "CONFIG_NAMESPACE",
  "ConfigError",
  "DEFAULTS",
  "DEFAULT_HOOK_REFUSED_LOG",
  "DEFAULT_PILLAR_DIR",
  "DEFAULT_SALT_STATES_DIR",
  "DEFAULT_STACK_TRACE_LIMIT",
  "DockerHosts",
  "EVENT_QUEUE",
  "EVENT_TAGS",
  "EcrIam",
  "EcrRegistry",
  "Environment",
  "FRESH_HOST_SSH",
  "HOOK_PROXY_MARKER_HEADER",
  "HOOK_TLS_FILES",
  "HOOK_URL_PATH",
  "LOCAL_PUSH_USER",
  "LOCAL_REGISTRY_HOST",
  "LOCAL_REGISTRY_PUSH_HOST",
  "LOCAL_SSH_PORT_OFFSET",
  "LocalLoadBalancer",
  "LocalRegistry",
  "OS_INFO",
  "REGISTRY_HOOK_CA_PATH",
  "REMOTE_STATES_DIR",
  "SaltCluster",
  "SaltMaster",
  "SaltMinion",
  "asSecrets",
  "contentHash",
  "defaultTagPattern",
  "ec2AssumeRolePolicy",
  "ecrDockerConfig",
  "ecrPushEventPattern",
  "ecrRegistryHost",
  "eventQueuePolicy",
  "existingHosts",
  "hookProxyMarker",
  "hookUrl",
  "masterFiles",
  "masterQueuePolicy",
  "masterSshOf",
  "minionFiles",
  "minionPullPolicy",
  "parseStackConfig",
  "pinnedConnection",
  "readStackConfig",
  "redrivePolicy",
  "renderHookProxyConfig",
  "renderHookTlsScript",
  "renderLbConfig",
  "renderMasterConfig",
  "renderMinionConfig",
  "renderPillar",
  "renderRegistryConfig",
  "renderSaltApiConfig",
  "renderSaltInstallScript",
  "renderSqsEngineConfig",
  "rootShell",
  "setHostKeyPreflight",
  "sourceRevision",
  "stackFileOf",
  "tuneProgramRuntime",
];

/** Exported types and interfaces only (nothing of them exists at run time). */
const TYPES = [
  "AppImageArgs",
  "AppSpec",
  "AwsHostsArgs",
  "AwsMachine",
  "AwsSpec",
  "Cloud",
  "ClusterMinion",
  "DeploySpec",
  "DockerHostsArgs",
  "DockerMachine",
  "EcrIamArgs",
  "EcrRegistryArgs",
  "EnvironmentArgs",
  "EnvironmentSpec",
  "EventTransport",
  "EventsSpec",
  "ExistingHostsOptions",
  "ExistingMachine",
  "HookProxyOptions",
  "HookTlsScriptOptions",
  "HookTlsSpec",
  "Host",
  "HostFile",
  "InstallOptions",
  "LbConfigOptions",
  "LbServer",
  "LocalLoadBalancerArgs",
  "LocalRegistryArgs",
  "LocalSpec",
  "MasterConfigOptions",
  "MasterSpec",
  "MasterSsh",
  "MinionConfigOptions",
  "MinionSpec",
  "NatGateways",
  "OsFamily",
  "OsInfo",
  "OsName",
  "ParseContext",
  "PillarOptions",
  "PolicyDocument",
  "PolicyStatement",
  "PublishedPort",
  "RawSecrets",
  "RegistryCheckOptions",
  "RegistryConfigOptions",
  "RegistryEndpoint",
  "RegistryLogin",
  "RegistrySpec",
  "SaltApiConfigOptions",
  "SaltClusterArgs",
  "SaltInstallMethod",
  "SaltMasterArgs",
  "SaltMinionArgs",
  "SaltRole",
  "SaltSpec",
  "SecretsSpec",
  "SourceRevision",
  "Spec",
  "SqsEngineOptions",
  "SqsEventsSpec",
  "TlsFiles",
];

/**
 * The names `infra/index.ts` exports, split into values and types. Only the package's own
 * files are read: a bare import (`@pulumi/pulumi`, …) is left unresolved, which keeps this to
 * a second and does not change what the package itself exports.
 */
function exportedNames(): { values: string[]; types: string[] } {
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2022,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    noLib: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  host.resolveModuleNameLiterals = (literals, containingFile) =>
    literals.map((literal) =>
      literal.text.startsWith(".")
        ? ts.resolveModuleName(literal.text, containingFile, options, host)
        : { resolvedModule: undefined },
    );
  const program = ts.createProgram([INDEX], options, host);
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(INDEX)!)!;
  const values: string[] = [];
  const types: string[] = [];
  for (const symbol of checker.getExportsOfModule(module)) {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    (target.flags & ts.SymbolFlags.Value ? values : types).push(symbol.name);
  }
  return { values: values.sort(), types: types.sort() };
}

test("the public exports are exactly the listed names", () => {
  const { values, types } = exportedNames();
  expect(values).toEqual([...VALUES].sort());
  expect(types).toEqual([...TYPES].sort());
});

test("the listed values are what the package yields at run time", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const runtime = Object.keys(require("../../infra") as object).filter((name) => name !== "__esModule");
  expect(runtime.sort()).toEqual([...VALUES].sort());
});
