//! `schema.graphql` is exactly what the server serves.

#[test]
fn schema_graphql_matches_the_served_schema() {
    let committed = include_str!("../../schema.graphql");
    let served = clientele_api::sdl();
    assert!(
        committed == served,
        "schema.graphql is out of date: run `cargo run -- schema > schema.graphql`"
    );
}

#[test]
fn the_schema_command_prints_the_same_sdl() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_clientele"))
        .arg("schema")
        .output()
        .expect("run clientele schema");
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        clientele_api::sdl()
    );
}
