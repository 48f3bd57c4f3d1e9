//! One connection's run: frames from the service, commands from the handles, keep-alive pings
//! and silence, sequence acks; and what each frame does.

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::time::{interval_at, sleep_until, Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;
use webpubsub_protocol::frames::{
    AckError, AckErrorName, ClientFrame, MessageSource, ServerFrame, SystemEvent,
};

use super::{dropped, frame_text, send_sequence_ack, Command, Driver, Ended, Live, Pending, Reply};
use crate::error::{Error, ErrorKind};
use crate::events::{ClientEvent, GroupMessage, ServerMessage};

impl Driver {
    /// Runs one connection until it drops or the client stops.
    pub(super) async fn session(&mut self, live: &mut Live) -> Ended {
        let options = self.options().clone();
        let reliable = options.protocol.is_reliable();
        let now = Instant::now();
        let mut ping = interval_at(
            now + options.keep_alive_interval,
            options.keep_alive_interval,
        );
        let mut acks = interval_at(
            now + options.sequence_ack_interval,
            options.sequence_ack_interval,
        );
        // After the loop was held up (a slow event reader), one tick, not a burst.
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        acks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_heard = now;
        loop {
            let silent_until = last_heard + options.keep_alive_timeout;
            tokio::select! {
                command = self.commands.recv() => {
                    let Some(command) = command else { return Ended::Stop(None) };
                    if let Err(ended) = self.command(live, command).await {
                        return ended;
                    }
                }
                frame = live.socket.next() => {
                    last_heard = Instant::now();
                    let frame = match frame {
                        Some(Ok(frame)) => frame,
                        Some(Err(e)) => return dropped(None, format!("the connection failed: {e}")),
                        None => return dropped(None, "the connection closed without a close frame".into()),
                    };
                    match frame {
                        Message::Text(text) => {
                            if let Err(ended) = self.frame(live, text.as_str()).await {
                                return ended;
                            }
                            if reliable && live.sequence.unacked() >= options.sequence_ack_burst {
                                if let Err(ended) = send_sequence_ack(live).await {
                                    return ended;
                                }
                            }
                        }
                        Message::Close(frame) => {
                            let (code, reason) = match frame {
                                Some(frame) => (Some(u16::from(frame.code)), frame.reason.to_string()),
                                None => (None, String::new()),
                            };
                            return Ended::Dropped { code, reason: format!("the service closed the connection: {reason}") };
                        }
                        Message::Binary(_) => tracing::warn!("ignored a binary frame on a JSON subprotocol"),
                        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                    }
                }
                _ = ping.tick() => {
                    if let Err(e) = live.socket.send(Message::text(frame_text(&ClientFrame::Ping))).await {
                        return dropped(None, format!("a keep-alive ping failed: {e}"));
                    }
                }
                _ = acks.tick(), if reliable => {
                    if live.sequence.unacked() > 0 {
                        if let Err(ended) = send_sequence_ack(live).await {
                            return ended;
                        }
                    }
                }
                () = sleep_until(silent_until) => {
                    return dropped(None, format!("nothing received for {:?}", options.keep_alive_timeout));
                }
            }
        }
    }

    /// Carries out one command on a live connection.
    async fn command(&mut self, live: &mut Live, command: Command) -> Result<(), Ended> {
        match command {
            Command::Stop { done } => Err(Ended::Stop(Some(done))),
            Command::Send { text, reply } => {
                let written = live.socket.send(Message::text(text)).await;
                match reply {
                    Reply::Ack { ack_id, reply } => {
                        self.pending.insert(ack_id, Pending::Caller(reply));
                    }
                    Reply::Written(reply) => {
                        let _ = reply.send(match &written {
                            Ok(()) => Ok(()),
                            Err(_) => Err(Error::connection_lost()),
                        });
                    }
                }
                written.map_err(|e| dropped(None, format!("a write failed: {e}")))
            }
            Command::Invoke {
                invocation_id,
                text,
                reply,
            } => {
                self.invocations.insert(invocation_id, reply);
                live.socket
                    .send(Message::text(text))
                    .await
                    .map_err(|e| dropped(None, format!("a write failed: {e}")))
            }
            Command::Cancel { invocation_id } => {
                if self.invocations.remove(&invocation_id).is_none() {
                    return Ok(());
                }
                let text = frame_text(&ClientFrame::CancelInvocation { invocation_id });
                live.socket
                    .send(Message::text(text))
                    .await
                    .map_err(|e| dropped(None, format!("a write failed: {e}")))
            }
        }
    }

    /// Handles one text frame from the service.
    async fn frame(&mut self, live: &mut Live, text: &str) -> Result<(), Ended> {
        let frame = match ServerFrame::from_json(text) {
            Ok(frame) => frame,
            Err(e) => {
                tracing::warn!(error = %e, "ignored a frame that is not JSON");
                return Ok(());
            }
        };
        match frame {
            ServerFrame::Message {
                from,
                data,
                sequence_id,
            } => {
                if let Some(id) = sequence_id {
                    if !live.sequence.accept(id) {
                        return Ok(()); // a replayed duplicate
                    }
                }
                let event = match from {
                    MessageSource::Group {
                        group,
                        from_user_id,
                    } => ClientEvent::GroupMessage(GroupMessage {
                        group,
                        from_user_id,
                        data,
                        sequence_id,
                    }),
                    MessageSource::Server => {
                        ClientEvent::ServerMessage(ServerMessage { data, sequence_id })
                    }
                };
                self.emit(event).await;
            }
            ServerFrame::Ack {
                ack_id,
                success,
                error,
            } => self.answer(ack_id, success, error).await,
            ServerFrame::System(SystemEvent::Connected {
                reconnection_token, ..
            }) => {
                // Sent again after a recovery: keep the (possibly new) token, no event.
                if reconnection_token.is_some() {
                    live.reconnection_token = reconnection_token;
                }
            }
            ServerFrame::System(SystemEvent::Disconnected { message }) => live.message = message,
            ServerFrame::InvokeResponse {
                invocation_id,
                success,
                data,
                error,
            } => {
                if let Some(reply) = self.invocations.remove(&invocation_id) {
                    let _ = reply.send(if success {
                        Ok(data)
                    } else {
                        let error = error.unwrap_or(AckError {
                            name: AckErrorName::InternalServerError,
                            message: None,
                        });
                        Err(Error::new(
                            ErrorKind::Invocation {
                                invocation_id,
                                name: error.name,
                                message: error.message,
                            },
                            "the invocation failed",
                        ))
                    });
                }
            }
            ServerFrame::Pong | ServerFrame::StreamClosed { .. } | ServerFrame::Unknown(_) => {}
        }
        Ok(())
    }

    async fn answer(&mut self, ack_id: u64, success: bool, error: Option<AckError>) {
        let Some(pending) = self.pending.remove(&ack_id) else {
            return; // an ack nobody waits for any more (timed out)
        };
        let result = match (success, error) {
            (true, _) => Ok(false),
            (
                false,
                Some(AckError {
                    name: AckErrorName::Duplicate,
                    ..
                }),
            ) => Ok(true),
            (false, error) => {
                let error = error.unwrap_or(AckError {
                    name: AckErrorName::InternalServerError,
                    message: None,
                });
                Err(Error::new(
                    ErrorKind::Ack {
                        ack_id,
                        name: error.name,
                        message: error.message,
                    },
                    "the service refused the operation",
                ))
            }
        };
        match pending {
            Pending::Caller(reply) => {
                let _ = reply.send(result);
            }
            Pending::Rejoin(group) => {
                if let Err(error) = result {
                    tracing::warn!(%group, %error, "rejoining a group failed");
                    self.emit(ClientEvent::RejoinGroupFailed { group, error })
                        .await;
                }
            }
        }
    }
}
