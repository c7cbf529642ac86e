//! The listener's own bounds, over raw TCP: slow headers, oversized
//! headers, connections per client.

use super::*;

/// A service with no connectors and no tenants, for the listener's bounds.
async fn bare(server: ServerLimits) -> Served {
    let runtime = Runtime::new(test_config()).unwrap();
    let config = ServeConfig {
        server,
        ..ServeConfig::default()
    };
    Served::start(Service::new(runtime, &config, Keys::default()).unwrap()).await
}

const HEALTH: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: test\r\n\r\n";

#[tokio::test]
async fn slow_headers_are_cut_off() {
    let served = bare(ServerLimits {
        header_read_timeout_ms: 300,
        ..ServerLimits::default()
    })
    .await;
    let mut slow = RawConnection::open(&served.base).await;
    assert!(
        slow.send(b"GET /healthz HTTP/1.1\r\nhost: test\r\nx-slow: ")
            .await
    );
    // The default timeout is 10 s: a server that did not apply 300 ms would
    // still hold the connection when this wait ends.
    let (received, closed) = slow.read_until_closed(Duration::from_secs(5)).await;
    let text = String::from_utf8_lossy(&received);
    assert!(closed, "the connection is still held: {text:?}");
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text:?}"
    );
    let mut polite = RawConnection::open(&served.base).await;
    assert!(polite.send(HEALTH).await);
    let answer = polite.read_answer(PATIENCE).await.expect("an answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn oversized_headers_are_refused() {
    let served = bare(ServerLimits {
        max_header_bytes: 8192,
        ..ServerLimits::default()
    })
    .await;
    let request = |size: usize| {
        format!(
            "GET /healthz HTTP/1.1\r\nhost: test\r\nx-big: {}\r\n\r\n",
            "a".repeat(size)
        )
    };
    let mut small = RawConnection::open(&served.base).await;
    assert!(small.send(request(4096).as_bytes()).await);
    let answer = small.read_answer(PATIENCE).await.expect("an answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let mut big = RawConnection::open(&served.base).await;
    // The server may close before it has read everything.
    let _ = big.send(request(64 << 10).as_bytes()).await;
    let (received, closed) = big.read_until_closed(PATIENCE).await;
    let text = String::from_utf8_lossy(&received);
    assert!(closed, "the connection is still open: {text:?}");
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 431"),
        "{text:?}"
    );
}

#[tokio::test]
async fn connections_per_client_are_capped() {
    let served = bare(ServerLimits {
        max_connections_per_client: 2,
        ..ServerLimits::default()
    })
    .await;
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut c = RawConnection::open(&served.base).await;
        assert!(c.send(HEALTH).await);
        let answer = c.read_answer(PATIENCE).await.expect("an answer");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        open.push(c);
    }
    // The third is accepted by the kernel, then closed unanswered.
    let mut third = RawConnection::open(&served.base).await;
    let _ = third.send(HEALTH).await;
    let (received, closed) = third.read_until_closed(PATIENCE).await;
    assert!(
        closed && received.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&received)
    );
    for c in &mut open {
        assert!(c.send(HEALTH).await);
        let answer = c
            .read_answer(PATIENCE)
            .await
            .expect("the earlier connections stay usable");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    // Closing one gives its place back (as soon as the server notices).
    drop(open.pop());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let mut c = RawConnection::open(&served.base).await;
        let _ = c.send(HEALTH).await;
        if let Some(answer) = c.read_answer(PATIENCE).await {
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the closed connection's place never came back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
