use super::*;

#[test]
fn durations() {
    assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
    assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1_800)));
    assert!(parse_duration("0s").is_err());
    assert!(parse_duration("1w").is_err());
}

#[test]
fn support_contact_is_cleaned_and_defaults() {
    assert_eq!(support_contact(""), DEFAULT_SUPPORT_CONTACT);
    assert_eq!(support_contact("  \n "), DEFAULT_SUPPORT_CONTACT);
    assert_eq!(
        support_contact(" support@provider.example\r\n"),
        "support@provider.example"
    );
    assert_eq!(support_contact(&"x".repeat(500)).chars().count(), 200);
    let cli = Cli::try_parse_from(["keyport", "serve"]).unwrap();
    let Command::Serve(args) = cli.command else {
        panic!("serve");
    };
    assert_eq!(
        Settings::from_serve(&args).support_contact,
        DEFAULT_SUPPORT_CONTACT
    );
}

#[test]
fn a_demo_resets_nightly_unless_told_otherwise() {
    let settings = |args: &[&str]| {
        let cli = Cli::try_parse_from(args).unwrap();
        let Command::Serve(serve) = cli.command else {
            panic!("serve");
        };
        Settings::from_serve(&serve).demo_reset
    };
    assert_eq!(settings(&["keyport", "serve"]), None, "no demo, no reset");
    assert_eq!(
        settings(&["keyport", "serve", "--demo"]),
        Some(ResetSchedule::NIGHTLY)
    );
    assert_eq!(
        settings(&["keyport", "serve", "--demo", "--demo-reset", "never"]),
        Some(ResetSchedule::Never)
    );
    assert_eq!(
        settings(&["keyport", "serve", "--demo", "--demo-reset-every", "6h"]),
        Some(ResetSchedule::Every(Duration::from_secs(6 * 3600)))
    );
    assert!(Cli::try_parse_from(["keyport", "serve", "--demo-reset", "25:00"]).is_err());
}

#[test]
fn key_file_sits_beside_the_database() {
    assert_eq!(
        default_key_file("sqlite://data/keyport.db"),
        PathBuf::from("data/master.key")
    );
    assert_eq!(
        default_key_file("sqlite:///var/lib/k/k.db?mode=rwc"),
        PathBuf::from("/var/lib/k/master.key")
    );
    assert_eq!(
        default_key_file("postgres://x/y"),
        PathBuf::from("data/master.key")
    );
}
