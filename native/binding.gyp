{
  "targets": [
    {
      "target_name": "warren_native",
      "sources": [
        "src/addon.c",
        "src/common.c",
        "src/fds.c",
        "src/send.c",
        "src/sendmmsg.c",
        "src/gro.c",
        "src/aead.c",
        "src/aead_batch.c",
        "src/pool.c",
        "src/reader.c",
        "src/reader_thread.c",
        "src/fill.c",
        "src/poller.c",
        "src/clock.c",
        "src/sched.c",
        "src/ticker.c",
        "src/sockaddr.c",
        "src/pktinfo.c",
        "src/vnet.c",
        "src/coalesce.c",
        "src/tunv.c",
        "src/tunv_write.c",
        "src/splice.c"
      ],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11", "-pthread"],
      "ldflags": ["-pthread"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    }
  ]
}
