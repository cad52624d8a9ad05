//! The queueing-theory validation suite (`lbsim verify`) as tests: every
//! built-in check must put the closed-form value inside the simulation's
//! family-wise confidence interval, with the same fixed seeds as the CLI.

use lbsim::validation::verify::{self, Config};

fn check(name: &str) {
    let cfg = Config::default();
    let all = verify::checks();
    let per = verify::per_comparison_confidence(cfg.confidence, verify::comparison_count(&all));
    let c = all.iter().find(|c| c.name == name).expect("check exists");
    let result = verify::run_check(c, &cfg, per, &|| {}).unwrap();
    let text = verify::render_check(&result, per);
    assert!(result.pass(), "{text}");
    // A check that cannot fail is no check: every interval must be informative.
    for cmp in &result.comparisons {
        assert!(cmp.half_width.is_finite() && cmp.half_width > 0.0, "{text}");
        assert!(cmp.half_width < 0.05 * cmp.theory.abs(), "interval too wide to mean anything: {text}");
    }
}

#[test]
fn random_balancing_is_m_m_1_per_server() {
    check("random-mm1");
}

#[test]
fn round_robin_is_e_n_m_1_per_server() {
    check("round-robin-en-m1");
}

#[test]
fn workers_share_a_queue_as_m_m_c() {
    check("mmc-erlang-c");
}

#[test]
fn no_queue_blocks_as_erlang_b() {
    check("erlang-b");
}

#[test]
fn constant_service_is_m_d_1() {
    check("md1-pollaczek-khinchine");
}

#[test]
fn variable_service_follows_pollaczek_khinchine() {
    check("mg1-pollaczek-khinchine");
}

#[test]
fn power_of_two_choices_matches_the_supermarket_model() {
    check("p2c-supermarket");
}

#[test]
fn every_check_is_run_by_these_tests() {
    let names: Vec<&str> = verify::checks().iter().map(|c| c.name).collect();
    let this_file = include_str!("verify.rs");
    for n in names {
        assert!(this_file.contains(&format!("check(\"{n}\")")), "check {n} has no test");
    }
}
