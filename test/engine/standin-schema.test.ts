/**
 * The stand-ins speak the real plugins' language: every type token they implement is a
 * resource of the installed @pulumi/command / @pulumi/docker SDK, and every input (with its
 * nested fields) and output they declare is a property of that resource in the SDK's type
 * declarations. Read with the TypeScript compiler from node_modules, so an SDK upgrade that
 * renames something fails here.
 */
import * as commandSdk from "@pulumi/command";
import * as dockerSdk from "@pulumi/docker";
import * as path from "node:path";
import * as ts from "typescript";
import { resourceTypes as commandTypes } from "../../tools/standins/command/main";
import { resourceTypes as dockerTypes } from "../../tools/standins/docker/main";
import type { AnyResourceType } from "../../tools/standins/lib/provider";

/** Fields a real provider adds itself in `check` (pulumi-docker: the build context's digest). */
const providerAdded = new Set(["build.contextDigest"]);

const sdks = { "@pulumi/command": commandTypes, "@pulumi/docker": dockerTypes };
const runtimeModules: Record<string, object> = { "@pulumi/command": commandSdk, "@pulumi/docker": dockerSdk };
const indexOf = (pkg: string) => require.resolve(`${pkg}/index.d.ts`);
const program = ts.createProgram(Object.keys(sdks).map(indexOf), {
  strict: true,
  types: [],
  skipLibCheck: true,
});
const checker = program.getTypeChecker();

/** The runtime path (e.g. ["remote", "Command"]) of the SDK class whose type token is TOKEN. */
function runtimePath(pkg: string, token: string): string[] | undefined {
  const mod = runtimeModules[pkg] as Record<string, unknown>;
  for (const [name, value] of Object.entries(mod)) {
    if ((value as { __pulumiType?: string })?.__pulumiType === token) return [name];
    if (value && typeof value === "object" && !Array.isArray(value)) {
      for (const [inner, cls] of Object.entries(value)) {
        if ((cls as { __pulumiType?: string })?.__pulumiType === token) return [name, inner];
      }
    }
  }
  return undefined;
}

function resolve(symbol: ts.Symbol): ts.Symbol {
  return symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
}

/** The class declaration at PATH in the package's type declarations. */
function classAt(pkg: string, names: string[]): ts.ClassDeclaration {
  let symbol = checker.getSymbolAtLocation(program.getSourceFile(indexOf(pkg))!)!;
  for (const name of names)
    symbol = resolve(checker.getExportsOfModule(symbol).find((s) => s.name === name)!);
  // The index re-exports each class lazily: `export type X = import("./x").X` (+ a const).
  const declared = checker.getDeclaredTypeOfSymbol(symbol).getSymbol() ?? symbol;
  return declared.declarations!.find(ts.isClassDeclaration)!;
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

function sdkResource(cls: ts.ClassDeclaration) {
  const ctor = cls.members.find(ts.isConstructorDeclaration)!;
  const argsType = checker.getTypeFromTypeNode(ctor.parameters[1].type!);
  const inputs = new Map(argsType.getProperties().map((p) => [p.name, fieldsOf(checker.getTypeOfSymbol(p))]));
  const outputs = cls.members.filter(ts.isPropertyDeclaration).map((m) => m.name.getText());
  return { inputs, outputs };
}

describe.each(Object.entries(sdks))("%s stand-in", (pkg, types: Record<string, AnyResourceType>) => {
  test.each(Object.keys(types))("%s: token, inputs, nested fields and outputs exist in the SDK", (token) => {
    const where = runtimePath(pkg, token);
    expect(where).toBeDefined();
    const sdk = sdkResource(classAt(pkg, where!));
    const rt = types[token];
    const problems: string[] = [];
    for (const [key, fields] of Object.entries(rt.inputs)) {
      if (!sdk.inputs.has(key)) problems.push(`input ${key}`);
      else if (fields !== true) {
        const known = sdk.inputs.get(key) ?? [];
        for (const f of fields)
          if (!known.includes(f) && !providerAdded.has(`${key}.${f}`)) problems.push(`field ${key}.${f}`);
      }
    }
    for (const out of rt.outputs) if (!sdk.outputs.includes(out)) problems.push(`output ${out}`);
    for (const key of rt.replaceOnChanges)
      if (!(key in rt.inputs)) problems.push(`replaceOnChanges ${key} is not an input`);
    expect(problems).toEqual([]);
  });
});
