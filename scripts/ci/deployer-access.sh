#!/usr/bin/env bash
# SSH access for the CI job that runs `pulumi up` on AWS, for the job's lifetime only.
#
#   deployer-access.sh open  --stack STACK   allow this runner's address (/32) on port 22
#   deployer-access.sh close --stack STACK   remove the rule `open` added (and expired ones)
#   deployer-access.sh sweep --stack STACK   remove expired rules only
#
# The master's SSH is open to `adminCidrs` only, and a GitHub-hosted runner is never inside
# them. So each stack's master carries a second security group, `<stack>-deployer` (tag
# `saltpipe:access=deployer`), that the program creates with no rules of its own (Pulumi
# leaves rules it did not declare alone there). `open` adds one rule for the runner's own
# address, described `saltpipe CI <run> until <epoch>`; `close` removes it — the workflow
# runs `close` with `if: always()`, so it runs when the job fails or is cancelled too — and
# every `open` first sweeps rules whose time has passed (a runner that died before `close`).
#
# Environment: AWS credentials and AWS_REGION (the workflow's OIDC step), SALTPIPE_RUNNER_IP
# (the runner's public IPv4; default: asked from https://checkip.amazonaws.com),
# SALTPIPE_ACCESS_MINUTES (how long a rule may live, default 120: longer than the job's
# timeout), GITHUB_RUN_ID, GITHUB_ENV (where `open` records the rule id for `close`),
# SALTPIPE_ACCESS_RULE (the rule `close` removes; set by `open` through GITHUB_ENV),
# AWS (the AWS CLI to run, default `aws`).
set -euo pipefail

AWS_CLI="${AWS:-aws}"
MINUTES="${SALTPIPE_ACCESS_MINUTES:-120}"
TAG_KEY="saltpipe:access"
TAG_VALUE="deployer"
DESCRIPTION_PREFIX="saltpipe CI"

die() { printf 'deployer-access: %s\n' "$*" >&2; exit 1; }
say() { printf 'deployer-access: %s\n' "$*" >&2; }

usage() { sed -n '2,6p' "$0" >&2; exit 2; }

action="${1:-}"
[[ $action == open || $action == close || $action == sweep ]] || usage
shift
stack=""
while (($#)); do
  case "$1" in
    --stack) stack="${2:-}"; shift 2 ;;
    *) usage ;;
  esac
done
[[ $stack =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ ]] || die "--stack: '$stack' is not a stack name"
[[ $MINUTES =~ ^[1-9][0-9]{0,3}$ ]] || die "SALTPIPE_ACCESS_MINUTES: '$MINUTES' is not a number of minutes (1..9999)"

# The stack's deployer security group (exactly one), by its tags.
group_of() {
  local groups
  groups="$("$AWS_CLI" ec2 describe-security-groups \
    --filters "Name=tag:$TAG_KEY,Values=$TAG_VALUE" "Name=tag:saltpipe:stack,Values=$stack" \
    --query 'SecurityGroups[].GroupId' --output text)" || die "could not list the security groups (AWS CLI failed above)"
  read -r -a ids <<<"$groups"
  ((${#ids[@]} == 1)) || die "stack '$stack': expected one security group tagged $TAG_KEY=$TAG_VALUE, found ${#ids[@]} (${groups:-none}); the first 'pulumi up' of a stack must run from inside adminCidrs (docs/aws.md)"
  printf '%s\n' "${ids[0]}"
}

# Remove this group's CI rules whose time has passed.
sweep() {
  local group="$1" now rules id until
  now="$(date +%s)"
  rules="$("$AWS_CLI" ec2 describe-security-group-rules --filters "Name=group-id,Values=$group" \
    --query 'SecurityGroupRules[].[SecurityGroupRuleId,Description]' --output text)" || die "could not list the rules of $group"
  while IFS=$'\t' read -r id description; do
    [[ -n $id && $description == "$DESCRIPTION_PREFIX "*" until "* ]] || continue
    until="${description##* until }"
    [[ $until =~ ^[0-9]+$ ]] || continue
    if ((until < now)); then
      "$AWS_CLI" ec2 revoke-security-group-ingress --group-id "$group" --security-group-rule-ids "$id" >/dev/null ||
        die "could not remove expired rule $id"
      say "removed expired rule $id ($description)"
    fi
  done <<<"$rules"
}

runner_ip() {
  local ip="${SALTPIPE_RUNNER_IP:-}"
  if [[ -z $ip ]]; then
    ip="$(curl -fsS --max-time 10 --retry 3 https://checkip.amazonaws.com)" || die "could not learn this runner's public address (set SALTPIPE_RUNNER_IP)"
  fi
  ip="${ip//[[:space:]]/}"
  [[ $ip =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || die "the runner's address '$ip' is not an IPv4 address"
  local octet
  for octet in "${BASH_REMATCH[@]:1}"; do ((octet <= 255)) || die "the runner's address '$ip' is not an IPv4 address"; done
  printf '%s\n' "$ip"
}

group="$(group_of)"
case "$action" in
  sweep) sweep "$group" ;;
  open)
    sweep "$group"
    ip="$(runner_ip)"
    until=$(($(date +%s) + MINUTES * 60))
    description="$DESCRIPTION_PREFIX ${GITHUB_RUN_ID:-local} until $until"
    rule="$("$AWS_CLI" ec2 authorize-security-group-ingress --group-id "$group" \
      --ip-permissions "IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=$ip/32,Description=\"$description\"}]" \
      --query 'SecurityGroupRules[0].SecurityGroupRuleId' --output text)" || die "could not add the rule for $ip/32 to $group"
    [[ $rule =~ ^sgr-[0-9a-f]+$ ]] || die "the AWS CLI answered '$rule', not a security group rule id"
    [[ -n ${GITHUB_ENV:-} ]] && echo "SALTPIPE_ACCESS_RULE=$rule" >>"$GITHUB_ENV"
    say "SSH open for $ip/32 on $group ($rule) until $(date -u -d "@$until" +%H:%MZ)"
    printf '%s\n' "$rule"
    ;;
  close)
    rule="${SALTPIPE_ACCESS_RULE:-}"
    if [[ -n $rule ]]; then
      [[ $rule =~ ^sgr-[0-9a-f]+$ ]] || die "SALTPIPE_ACCESS_RULE: '$rule' is not a security group rule id"
      "$AWS_CLI" ec2 revoke-security-group-ingress --group-id "$group" --security-group-rule-ids "$rule" >/dev/null ||
        die "could not remove rule $rule from $group"
      say "SSH closed: removed $rule from $group"
    else
      say "no rule of this job to remove (open did not run or failed)"
    fi
    sweep "$group"
    ;;
esac
