// Environment for `warren exec`: point both the lower- and upper-case proxy variables
// at the egress proxy, since tools disagree on which they read (curl ignores upper-case
// HTTP_PROXY for CGI-safety reasons; many Go and Java tools read only upper case).

/** NO_PROXY_HOSTS bypass the proxy: loopback services are the caller's own. */
export const NO_PROXY_HOSTS = ['localhost', '127.0.0.1', '::1'];

/** proxyEnv returns http_proxy, https_proxy, no_proxy and their upper-case forms for port. */
export function proxyEnv(port: number): Record<string, string> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`bad proxy port ${port}`);
  const url = `http://127.0.0.1:${port}`;
  const noProxy = NO_PROXY_HOSTS.join(',');
  return {
    http_proxy: url,
    https_proxy: url,
    no_proxy: noProxy,
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    NO_PROXY: noProxy,
  };
}
