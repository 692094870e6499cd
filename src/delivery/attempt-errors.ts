/** Maps a failed exchange to the short `error` code attempts show. */
export function classifyError(err: unknown): string {
  const e = err as { code?: string; name?: string; cause?: unknown; message?: string };
  if (e?.cause && typeof e.cause === 'object' && 'code' in e.cause) {
    const inner = classifyError(e.cause);
    if (inner !== 'network_error') return inner;
  }
  const code = e?.code ?? '';
  if (code === 'HOOKLINE_BLOCKED_ADDRESS') return 'blocked_address';
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timeout';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return 'timeout';
  if (code === 'ECONNREFUSED') return 'connection_refused';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'connection_reset';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' || code === 'EAI_FAIL')
    return 'dns';
  if (
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)
  )
    return 'tls';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'unreachable';
  if (code === 'response_too_large' || code === 'invalid_response') return code;
  return 'network_error';
}
