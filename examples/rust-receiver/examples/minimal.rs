use clhooks_axum::{Event, Webhooks};

async fn placed(event: Event) -> Result<(), std::io::Error> {
    println!("{} {}", event.topic(), event.id());
    Ok(()) // an Err answers 500: Commerce Layer retries
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("CL_WEBHOOK_SECRET").map_err(|_| "set CL_WEBHOOK_SECRET to the webhook's shared secret")?;
    let app = Webhooks::new([secret])?.on("orders.*", placed)?.into_router("/webhooks");
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("0.0.0.0:{port}")).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
