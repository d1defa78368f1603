{
  "targets": [
    {
      "target_name": "warren_native",
      "sources": ["src/addon.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
