import { Code, ConnectError } from "@connectrpc/connect";
import type { Hello, SessionRequest } from "@messenger/proto/gateway/v1/gateway_service";

/**
 * Waits for the client's first frame, which must be a hello, at most `timeoutMs`: a client
 * that connects and says nothing must not hold a stream.
 */
export async function readHello(it: AsyncIterator<SessionRequest>, timeoutMs: number): Promise<Hello> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectError("no hello within the hello timeout", Code.DeadlineExceeded)), timeoutMs);
  });
  try {
    const r = await Promise.race([it.next(), timeout]);
    if (r.done) throw new ConnectError("stream closed before hello", Code.InvalidArgument);
    if (r.value.frame.case !== "hello") throw new ConnectError("the first frame must be a hello", Code.InvalidArgument);
    return r.value.frame.value;
  } finally {
    clearTimeout(timer);
  }
}
