//! Connections to backends that keep a backend's early answer.
//!
//! A backend may answer before it has read the whole request body (a 413 for an oversized
//! upload, a 403 for a login it refuses) and then close the connection. Closing with unread
//! data makes the backend's kernel send a reset, and the next body write here fails. hyper's
//! client then reports that write error and drops the answer already waiting in the socket.
//! nginx and configurable-http-proxy relay that answer, and so does this proxy: once a write
//! to a backend fails with a broken pipe or a reset, further writes are discarded and reads
//! go on, so hyper reads the answer, and the client gets it. If the backend sent nothing, the
//! read side sees the end of the stream and the request fails as before (503).

use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::net::TcpStream;

/// [`HttpConnector`], handing out [`Tolerant`] connections.
#[derive(Clone)]
pub struct Connector(pub HttpConnector);

/// A backend connection whose write side may have been closed by the backend.
pub struct Tolerant {
    inner: TokioIo<TcpStream>,
    write_closed: bool,
}

fn closed_by_peer(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
    )
}

impl Tolerant {
    /// A write result, with a peer that closed its read side turned into "written" (the data
    /// is discarded: the backend will not read it anyway).
    fn tolerate(&mut self, polled: Poll<io::Result<usize>>, len: usize) -> Poll<io::Result<usize>> {
        match polled {
            Poll::Ready(Err(e)) if closed_by_peer(&e) => {
                if !self.write_closed {
                    tracing::debug!(
                        "backend closed its side while we wrote ({e}); reading its answer"
                    );
                }
                self.write_closed = true;
                Poll::Ready(Ok(len))
            }
            other => other,
        }
    }
}

impl Read for Tolerant {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl Write for Tolerant {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.write_closed {
            return Poll::Ready(Ok(buf.len()));
        }
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.tolerate(polled, buf.len())
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        if self.write_closed {
            return Poll::Ready(Ok(len));
        }
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.tolerate(polled, len)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.write_closed {
            return Poll::Ready(Ok(()));
        }
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Ready(Err(e)) if closed_by_peer(&e) => {
                self.write_closed = true;
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.write_closed {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Connection for Tolerant {
    fn connected(&self) -> Connected {
        self.inner.inner().connected()
    }
}

type Connecting = Pin<Box<dyn Future<Output = Result<Tolerant, io::Error>> + Send>>;

impl tower::Service<http::Uri> for Connector {
    type Response = Tolerant;
    type Error = io::Error;
    type Future = Connecting;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx).map_err(io::Error::other)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let connecting = self.0.call(uri);
        Box::pin(async move {
            let inner = connecting.await.map_err(io::Error::other)?;
            Ok(Tolerant {
                inner,
                write_closed: false,
            })
        })
    }
}
