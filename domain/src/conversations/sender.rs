//! How outbound messages leave: the [`MessageSender`] seam, its logging default and a
//! recording double for tests.

use crate::entities::conversation::{self, Channel};
use crate::entities::message;
use uuid::Uuid;

/// How an outbound message reaches the provider. The default logs; tests record.
pub trait MessageSender: Send + Sync + 'static {
    fn send(&self, thread: &conversation::Model, message: &message::Model);
}

/// Logs outbound messages (without their bodies) instead of delivering them.
pub struct LogSender;

impl MessageSender for LogSender {
    fn send(&self, thread: &conversation::Model, message: &message::Model) {
        tracing::info!(
            conversation = %thread.id,
            message = %message.id,
            channel = ?thread.channel,
            "outbound message recorded (no provider configured for delivery)"
        );
    }
}

/// What a [`RecordingSender`] was handed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentMessage {
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    pub channel: Channel,
    /// The other side's identifier.
    pub to: String,
    pub body: Option<String>,
}

/// A sender that keeps what it is handed, for tests and dry runs.
#[derive(Default)]
pub struct RecordingSender {
    sent: std::sync::Mutex<Vec<SentMessage>>,
}

impl RecordingSender {
    /// Everything handed over so far, in order.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl MessageSender for RecordingSender {
    fn send(&self, thread: &conversation::Model, message: &message::Model) {
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(SentMessage {
                conversation_id: thread.id,
                message_id: message.id,
                channel: thread.channel,
                to: thread.channel_identifier.clone(),
                body: message.body.clone(),
            });
    }
}
