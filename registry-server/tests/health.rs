//! The service answers liveness over real HTTP.

#[tokio::test]
async fn health_live_answers_ok() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(plexica_registry::serve(listener));
    let body: serde_json::Value = reqwest::get(format!("http://{addr}/health/live"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "ok");
}
