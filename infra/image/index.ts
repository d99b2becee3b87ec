export * from "./app-image";
export * from "./git";
