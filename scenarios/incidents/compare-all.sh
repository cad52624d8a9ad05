#!/usr/bin/env bash
# Every counterfactual against its replay with `lbsim compare`: 10 paired
# replications each (common random numbers), reports in
# output/compare/<replay>--<counterfactual>/ (compare.md is the table the
# incidents README cites). About four minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
lbsim=${LBSIM:-target/release/lbsim}
[ -x "$lbsim" ] || cargo build --release
for replay in 000-routing-tables 001-network-switch 002-balancer-routes 003-all-traffic-to-one-server \
    004-wrong-route-on-web-01; do
    for counterfactual in scenarios/incidents/"${replay%%-*}"-with-*.yaml; do
        "$lbsim" compare "scenarios/incidents/$replay.yaml" "$counterfactual" --replications 10 --quiet
    done
done
