/**
 * The stand-ins speak the real plugins' language: every type token they implement is a
 * resource of the installed SDK (@pulumi/command, @pulumi/docker, @pulumi/aws, @pulumi/tls),
 * every input (with its nested fields) and output they declare is a property of that resource
 * in the SDK's type declarations, and every function (invoke) they implement has those
 * arguments and results. Read with the TypeScript compiler from node_modules, so an SDK upgrade
 * that renames something fails here.
 */
import * as path from "node:path";
import * as ts from "typescript";
import { functions as awsFunctions, resourceTypes as awsTypes } from "../../tools/standins/aws/main";
import { resourceTypes as commandTypes } from "../../tools/standins/command/main";
import { resourceTypes as dockerTypes } from "../../tools/standins/docker/main";
import type { AnyResourceType, FunctionType } from "../../tools/standins/lib/provider";
import { resourceTypes as tlsTypes } from "../../tools/standins/tls/main";

/** Fields a real provider adds itself in `check` (pulumi-docker: the build context's digest). */
const providerAdded = new Set(["build.contextDigest"]);

const sdks: Record<string, Record<string, AnyResourceType>> = {
  "@pulumi/command": commandTypes,
  "@pulumi/docker": dockerTypes,
  "@pulumi/aws": awsTypes,
  "@pulumi/tls": tlsTypes,
};
const sdkFunctions: Record<string, Record<string, FunctionType>> = { "@pulumi/aws": awsFunctions };

/**
 * The declaration file of TOKEN: `pkg:mod/file:Name` lives in `<pkg>/<mod>/<file>.d.ts`
 * (`index` is the package root); `command:remote:Command` in `remote/command.d.ts`.
 */
function fileOf(pkg: string, token: string): { file: string; name: string } {
  const [, mod, name] = token.split(":");
  const [dir, file] = mod.includes("/") ? mod.split("/") : [mod, name[0].toLowerCase() + name.slice(1)];
  return { file: require.resolve(`${pkg}/${dir === "index" ? "" : `${dir}/`}${file}.d.ts`), name };
}

const files = [...Object.entries(sdks), ...Object.entries(sdkFunctions)].flatMap(([pkg, types]) =>
  Object.keys(types).map((token) => fileOf(pkg, token).file),
);
const program = ts.createProgram([...new Set(files)], { strict: true, types: [], skipLibCheck: true });
const checker = program.getTypeChecker();

function declarations(file: string): readonly ts.Statement[] {
  const source = program.getSourceFile(file);
  if (!source) throw new Error(`no declarations in ${file}`);
  return source.statements;
}

function classAt(file: string, name: string): ts.ClassDeclaration {
  const found = declarations(file).find(
    (s): s is ts.ClassDeclaration => ts.isClassDeclaration(s) && s.name?.text === name,
  );
  if (!found) throw new Error(`no class ${name} in ${file}`);
  return found;
}

function interfaceAt(file: string, name: string): ts.InterfaceDeclaration | undefined {
  return declarations(file).find(
    (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name,
  );
}

/** Property names of an object type, looking through Input<…>, arrays, unions and undefined. */
function fieldsOf(type: ts.Type): string[] | undefined {
  const parts = type.isUnion() ? type.types : [type];
  for (const t of parts) {
    if (checker.isArrayType(t)) {
      const inner = fieldsOf(checker.getTypeArguments(t as ts.TypeReference)[0]);
      if (inner) return inner;
    }
    const file = t.getSymbol()?.declarations?.[0]?.getSourceFile().fileName ?? "";
    if (file.endsWith(path.join("types", "input.d.ts"))) return t.getProperties().map((p) => p.name);
  }
  return undefined;
}

function propertiesOf(declaration: ts.InterfaceDeclaration | undefined): Map<string, string[] | undefined> {
  if (!declaration) return new Map();
  const type = checker.getTypeAtLocation(declaration);
  return new Map(type.getProperties().map((p) => [p.name, fieldsOf(checker.getTypeOfSymbol(p))]));
}

function sdkResource(cls: ts.ClassDeclaration) {
  const ctor = cls.members.find(ts.isConstructorDeclaration)!;
  const argsType = checker.getTypeFromTypeNode(ctor.parameters[1].type!);
  const inputs = new Map(argsType.getProperties().map((p) => [p.name, fieldsOf(checker.getTypeOfSymbol(p))]));
  const outputs = cls.members.filter(ts.isPropertyDeclaration).map((m) => m.name.getText());
  return { inputs, outputs };
}

/** Inputs of the spec missing from the SDK, as "input x" / "field x.y". */
function missingInputs(spec: AnyResourceType["inputs"], sdk: Map<string, string[] | undefined>): string[] {
  const problems: string[] = [];
  for (const [key, fields] of Object.entries(spec)) {
    if (!sdk.has(key)) problems.push(`input ${key}`);
    else if (fields !== true) {
      const known = sdk.get(key) ?? [];
      for (const f of fields)
        if (!known.includes(f) && !providerAdded.has(`${key}.${f}`)) problems.push(`field ${key}.${f}`);
    }
  }
  return problems;
}

describe.each(Object.entries(sdks))("%s stand-in", (pkg, types) => {
  test.each(Object.keys(types))(
    "%s: token, inputs, nested fields and outputs exist in the SDK",
    async (token) => {
      const { file, name } = fileOf(pkg, token);
      // The class in that file is the one whose runtime type token is TOKEN.
      const runtime = (await import(file.replace(/\.d\.ts$/, ".js"))) as Record<
        string,
        { __pulumiType?: string }
      >;
      expect(runtime[name]?.__pulumiType).toBe(token);
      const sdk = sdkResource(classAt(file, name));
      const rt = types[token];
      const problems = missingInputs(rt.inputs, sdk.inputs);
      for (const out of rt.outputs) if (!sdk.outputs.includes(out)) problems.push(`output ${out}`);
      for (const key of rt.replaceOnChanges)
        if (!(key in rt.inputs)) problems.push(`replaceOnChanges ${key} is not an input`);
      expect(problems).toEqual([]);
    },
  );
});

describe.each(Object.entries(sdkFunctions))("%s stand-in functions", (pkg, fns) => {
  test.each(Object.keys(fns))("%s: arguments (with nested fields) and results exist in the SDK", (token) => {
    const { file, name } = fileOf(pkg, token);
    const type = name[0].toUpperCase() + name.slice(1);
    const args = interfaceAt(file, `${type}Args`);
    const result = interfaceAt(file, `${type}Result`);
    expect(result).toBeDefined();
    const problems = missingInputs(fns[token].inputs, propertiesOf(args));
    const results = propertiesOf(result);
    for (const out of fns[token].outputs) if (!results.has(out)) problems.push(`result ${out}`);
    expect(problems).toEqual([]);
  });
});
