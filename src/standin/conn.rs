//! Connections the stand-in can cut, for the `drop_after_processing` fault.
//!
//! That fault must look to the client like a network failure after the server did the work: the
//! request is applied, then no byte of the answer ever leaves. Each accepted socket carries a cut
//! flag that handlers reach through axum's connect info ([`ConnCut`]); once it is set every write
//! fails, hyper abandons the connection and the socket closes with the response unsent.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// How long to wait after a failed accept (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

/// A TCP listener whose accepted connections can be cut from inside a handler.
#[derive(Debug)]
pub(super) struct CuttableListener {
    inner: TcpListener,
}

impl CuttableListener {
    /// Wraps an already bound, non-blocking std listener; needs a tokio runtime context.
    pub(super) fn from_std(listener: std::net::TcpListener) -> io::Result<CuttableListener> {
        Ok(CuttableListener {
            inner: TcpListener::from_std(listener)?,
        })
    }
}

impl Listener for CuttableListener {
    type Io = CuttableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (CuttableStream, SocketAddr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, peer)) => {
                    // Latency only; a socket that refuses the option still works.
                    let _ = stream.set_nodelay(true);
                    let cut = ConnCut(Arc::new(AtomicBool::new(false)));
                    return (CuttableStream { stream, cut }, peer);
                }
                Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// The handle a handler uses to cut the connection its request arrived on.
#[derive(Debug, Clone)]
pub(super) struct ConnCut(Arc<AtomicBool>);

impl ConnCut {
    /// From now on nothing more is written to this connection; it closes unanswered.
    pub(super) fn cut(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn is_cut(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl Connected<IncomingStream<'_, CuttableListener>> for ConnCut {
    fn connect_info(stream: IncomingStream<'_, CuttableListener>) -> ConnCut {
        stream.io().cut.clone()
    }
}

/// An accepted TCP stream that refuses all writes once cut.
#[derive(Debug)]
pub(super) struct CuttableStream {
    stream: TcpStream,
    cut: ConnCut,
}

impl CuttableStream {
    fn refuse_if_cut(&self) -> Option<Poll<io::Result<usize>>> {
        self.cut.is_cut().then(|| Poll::Ready(Err(cut_error())))
    }
}

fn cut_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "connection cut by fault injection",
    )
}

impl AsyncRead for CuttableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for CuttableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(refused) = self.refuse_if_cut() {
            return refused;
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(refused) = self.refuse_if_cut() {
            return refused;
        }
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.cut.is_cut() {
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
