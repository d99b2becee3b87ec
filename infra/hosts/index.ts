export * from "./host";
export * from "./docker";
export * from "./aws";
export * from "./existing";
