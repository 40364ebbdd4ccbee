{
  "targets": [
    {
      "target_name": "tundrill",
      "sources": [
        "native/addon.c",
        "native/clock.c",
        "native/stall_monitor.c",
        "native/sock_diag.c",
        "native/jobs.c",
        "native/syscall.c",
        "native/symbols.c",
        "native/symbols_tcp.c",
        "native/tun.c",
        "native/tun_reader.c",
        "native/packet_socket.c",
        "native/spawn.c",
        "native/threadpool.c"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "_GNU_SOURCE"
      ],
      "cflags": [
        "-Wall",
        "-Wextra",
        "-pthread"
      ],
      "cflags_c": [
        "-std=gnu11"
      ],
      "ldflags": [
        "-pthread"
      ]
    }
  ]
}
