export * from "./local";
export * from "./ecr";
