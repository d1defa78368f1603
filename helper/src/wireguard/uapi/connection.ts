// One UAPI connection as a stream of lines: the framing of the cross-platform userspace API
// (https://www.wireguard.com/xplatform/): "get=1" or "set=1", the request's lines, an empty
// line, then the reply; several requests may follow on one connection, answered in order. It
// knows nothing of sockets: the server feeds it text and gives it a way to write, pause and
// close, so the framing is tested without a socket.
//
// Every byte comes from whoever can open the socket, so everything is bounded: a partial line
// (MAX_LINE), a request (MAX_SET_BYTES, counted by SetParser) and what is buffered while a
// request runs (the socket is paused, so at most one more chunk arrives). A set that fails to
// parse is read to its empty line and answered with the error, so the client reads the reply
// where it expects it; a line over its bound cannot be resynchronised, so it ends the connection.
import { errnoOf, UAPI_ERRNO, UapiError } from './errors.js';
import { errorReply } from './get-response.js';
import { MAX_LINE, MAX_SET_BYTES, SetParser, type SetRequest } from './set-request.js';

/** UapiHandler runs requests; the server serialises them across connections. */
export interface UapiHandler {
  /** get returns the whole reply, ending with "errno=0\n\n". */
  get(): Promise<string>;
  /** set applies the request or throws UapiError (anything else is errno -ENOANO). */
  set(req: SetRequest): Promise<void>;
}

/** ConnectionIo is what a connection needs of its socket. */
export interface ConnectionIo {
  write(text: string): void;
  pause(): void;
  resume(): void;
  close(): void;
  /** log hears of failed requests and protocol errors. */
  log(message: string): void;
}

type State = 'op' | 'get' | 'set' | 'discard';

/** UapiConnection parses and answers the requests of one client. */
export class UapiConnection {
  private state: State = 'op';
  private pending = '';
  private pos = 0;
  private busy = false;
  private closed = false;
  private parser: SetParser | null = null;
  private failure: UapiError | null = null;
  private discarded = 0;

  constructor(
    private readonly handler: UapiHandler,
    private readonly io: ConnectionIo,
  ) {}

  /** feed takes the next bytes from the client, decoded as latin1 (the protocol is ASCII). */
  feed(text: string): void {
    if (this.closed) return;
    this.pending = this.pos === 0 ? this.pending + text : this.pending.slice(this.pos) + text;
    this.pos = 0;
    this.pump();
  }

  /** end: the client closed its side. A set without its empty line is not applied. */
  end(): void {
    if (!this.closed && this.state === 'set')
      this.io.log('client closed the socket in the middle of a set; nothing applied');
    this.close();
  }

  private pump(): void {
    while (!this.busy && !this.closed) {
      const nl = this.pending.indexOf('\n', this.pos);
      if (nl < 0) {
        if (this.pending.length - this.pos > MAX_LINE) this.fail(new UapiError(UAPI_ERRNO.protocol, 'line too long'));
        return;
      }
      const line = this.pending.slice(this.pos, nl);
      this.pos = nl + 1;
      // Checked here as for a partial line, so the outcome does not depend on how the stream
      // was cut (found by the fuzz harness scripts/fuzz/harnesses/uapi.ts).
      if (line.length > MAX_LINE) this.fail(new UapiError(UAPI_ERRNO.protocol, 'line too long'));
      else this.onLine(line);
    }
  }

  private onLine(line: string): void {
    switch (this.state) {
      case 'op':
        if (line === 'get=1') this.state = 'get';
        else if (line === 'set=1') {
          this.state = 'set';
          this.parser = new SetParser();
        } else {
          this.io.log(`invalid UAPI operation ${JSON.stringify(line.slice(0, 32))}`);
          this.close();
        }
        return;
      case 'get':
        if (line === '') this.run(() => this.handler.get());
        else this.fail(new UapiError(UAPI_ERRNO.invalid, 'trailing characters after get=1'));
        return;
      case 'set':
        if (line === '') {
          const req = this.parser!.finish();
          this.run(() => this.handler.set(req).then(() => 'errno=0\n\n'));
          return;
        }
        try {
          this.parser!.line(line);
        } catch (e) {
          this.onSetError(e as Error);
        }
        return;
      case 'discard':
        this.discarded += line.length + 1;
        if (line === '') this.reply(errorReply(this.failure!.errno));
        else if (this.discarded > MAX_SET_BYTES) this.fail(this.failure!);
        return;
    }
  }

  private onSetError(e: Error): void {
    const err = e instanceof UapiError ? e : new UapiError(UAPI_ERRNO.unknown, e.message);
    this.io.log(`set refused: ${err.message}`);
    this.parser = null;
    if (err.errno === UAPI_ERRNO.protocol) {
      this.fail(err);
      return;
    }
    this.failure = err;
    this.discarded = 0;
    this.state = 'discard';
  }

  private run(op: () => Promise<string>): void {
    this.busy = true;
    this.parser = null;
    this.io.pause();
    op().then(
      (text) => this.reply(text),
      (e: unknown) => {
        this.io.log(`request failed: ${(e as Error).message}`);
        this.reply(errorReply(errnoOf(e)));
      },
    );
  }

  private reply(text: string): void {
    this.state = 'op';
    this.failure = null;
    if (this.closed) return;
    this.io.write(text);
    if (!this.busy) return;
    this.busy = false;
    this.io.resume();
    this.pump();
  }

  // fail answers with the error and ends the connection: the stream cannot be resynchronised.
  private fail(err: UapiError): void {
    this.io.log(`UAPI connection closed: ${err.message}`);
    this.io.write(errorReply(err.errno));
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.parser = null;
    this.pending = '';
    this.pos = 0;
    this.io.close();
  }
}
