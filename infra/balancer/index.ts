/** The environment's entry point (load balancers). */
export { LocalLoadBalancer, type LocalLoadBalancerArgs } from "./local";
