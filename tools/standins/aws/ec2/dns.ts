/** EC2's DNS names for an address (the real provider's EC2PublicDNSNameForIP / EC2PrivateDNSNameForIP). */
const dashed = (ip: string) => ip.replace(/\./g, "-");

export const publicDnsFor = (ip: string | undefined, region: string): string | undefined =>
  ip
    ? `ec2-${dashed(ip)}.${region === "us-east-1" ? "compute-1" : `${region}.compute`}.amazonaws.com`
    : undefined;

export const privateDnsFor = (ip: string | undefined, region: string): string | undefined =>
  ip ? `ip-${dashed(ip)}.${region === "us-east-1" ? "ec2" : `${region}.compute`}.internal` : undefined;
