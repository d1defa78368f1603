// Warren's native addon: batched TUN and UDP I/O on reader threads, in-place ChaCha20-Poly1305
// and the boottime clock, for the WireGuard data plane (see src-shared/lib/native/index.ts for
// the JS contract of every function registered here).
#include "common.h"
#include "pool.h"

#include <stdlib.h>

static void instance_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  wn_instance *inst = data;
  if (inst->reader_class != NULL) napi_delete_reference(env, inst->reader_class);
  wn_ticker_free(inst->ticker);
  inst->ticker = NULL;
  wn_pool_free(inst->pool); // joins the workers before their contexts go
  inst->pool = NULL;
  wn_aead_free(inst);
  free(inst->coalesce);
  free(inst);
}

static napi_value Init(napi_env env, napi_value exports) {
  wn_instance *inst = calloc(1, sizeof *inst);
  if (inst == NULL) {
    napi_throw_error(env, NULL, "warren_native: out of memory");
    return NULL;
  }
  if (napi_set_instance_data(env, inst, instance_finalize, NULL) != napi_ok) {
    free(inst);
    napi_throw_error(env, NULL, "warren_native: cannot set instance data");
    return NULL;
  }
  if (!wn_aead_init(env, inst)) {
    napi_throw_error(env, NULL, "warren_native: cannot create the ChaCha20-Poly1305 context");
    return NULL;
  }
  if (!wn_reader_class_init(env, inst)) return NULL;
#define FN(name, cb) {name, NULL, cb, NULL, NULL, NULL, napi_enumerable, NULL}
  napi_property_descriptor fns[] = {
      FN("tunOpen", wn_tun_open),
      FN("udpOpen", wn_udp_open),
      FN("closeFd", wn_close_fd),
      FN("setMark", wn_set_mark),
      FN("peerCredentials", wn_peer_credentials),
      FN("startReader", wn_start_reader),
      FN("readerBuffer", wn_reader_buffer),
      FN("packetPair", wn_packet_pair),
      FN("tunWriteBatch", wn_tun_write_batch),
      FN("udpSendBatch", wn_udp_send_batch),
      FN("udpSend", wn_udp_send),
      FN("udpGsoSupported", wn_udp_gso_supported),
      FN("aeadSeal", wn_aead_seal),
      FN("aeadOpen", wn_aead_open),
      FN("aeadSealBatch", wn_aead_seal_batch),
      FN("aeadOpenBatch", wn_aead_open_batch),
      FN("aeadSealMany", wn_aead_seal_many),
      FN("aeadThreads", wn_aead_threads),
      FN("aeadThreadStats", wn_aead_thread_stats),
      FN("boottimeMs", wn_boottime_ms),
      FN("idleOtherThreads", wn_idle_other_threads),
      FN("threadSlice", wn_thread_slice),
      FN("wakeTicker", wn_wake_ticker),
      FN("wakeTickerStats", wn_wake_ticker_stats),
      FN("vnetSplit", wn_vnet_split_js),
      FN("vnetCoalesce", wn_vnet_coalesce_js),
      FN("spliceInit", wn_splice_init),
      FN("spliceStart", wn_splice_start),
      FN("spliceStop", wn_splice_stop),
      FN("spliceCount", wn_splice_count),
  };
#undef FN
  if (napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
