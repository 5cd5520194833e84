// An expression for the doctests of `gevent-ssl` (`include!`d): both ends of a TLS connection
// over loopback, `(client, server)`, both `TlsStream<gevent_net::TcpStream>`.
{
    let (server_config, client_config) = include!("doc_configs.rs");
    let l = gevent_net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let slot = std::rc::Rc::new(std::cell::Cell::new(None));
    let s = {
        let slot = slot.clone();
        gevent_hub::spawn(move || {
            let tcp = l.accept().unwrap().0;
            slot.set(Some(gevent_ssl::TlsStream::accept(server_config, tcp).unwrap()));
        })
    };
    let tcp = gevent_net::TcpStream::connect(addr).unwrap();
    let c = gevent_ssl::TlsStream::connect(client_config, "localhost", tcp).unwrap();
    s.join();
    (c, slot.take().unwrap())
}
