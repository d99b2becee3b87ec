export * from "./local";
export * from "./ecr";
export * from "./ecr-iam";
