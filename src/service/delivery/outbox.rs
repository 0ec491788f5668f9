//! The development outbox, used when no mail server or SMS gateway is set:
//! each message is a file in `outbox_dir` (readable by its owner only), and
//! the log says where, without the message itself.

use crate::config::Config;
use crate::store::OutboundMessage;

pub async fn write(config: &Config, message: &OutboundMessage, body: &str) -> Result<(), String> {
    let dir = config.outbox_dir.clone();
    let path = dir.join(format!("{}-{}.txt", message.channel, message.id));
    let text = format!(
        "To: {}\nSubject: {}\n\n{}\n",
        message.recipient, message.subject, body
    );
    let written = path.clone();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        use std::io::Write;
        std::fs::create_dir_all(&dir)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(&written)?.write_all(text.as_bytes())
    })
    .await
    .map_err(|e| format!("the outbox: {e}"))?
    .map_err(|e| format!("the outbox {}: {e}", config.outbox_dir.display()))?;
    tracing::info!(path = %path.display(), channel = %message.channel, "message written to the development outbox");
    Ok(())
}
