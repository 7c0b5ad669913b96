// sse: an incremental parser for the text/event-stream format (HTML
// Living Standard, "Server-sent events", 9.2.6 "Interpreting an event
// stream"). Pure: feed it decoded text in chunks of any size; it returns
// the events completed so far. live.js runs it over a fetch() body so that
// it can send Last-Event-ID on every reconnect and see HTTP statuses, which
// the browser's EventSource hides. tests/e2e/unit.test.mjs covers it.

export class SSEParser {
  constructor() {
    this.buf = '';
    this.data = [];
    this.type = '';
    this.id = null;        // last event ID buffer (persists across events)
    this.lastEventId = ''; // the ID buffer as of the last dispatch (blank line)
    this.retry = null;     // reconnection time asked by the server, ms
    this.sawComment = false;
    this.first = true;
  }

  // Returns an array of {type, data, id}; `type` defaults to "message".
  feed(text) {
    const events = [];
    if (this.first && text.length) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      this.first = false;
    }
    this.buf += text;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) break;
      // A lone CR at the end of the buffer may be the first half of CRLF.
      if (m[0] === '\r' && m.index === this.buf.length - 1) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      this.line(line, events);
    }
    return events;
  }

  line(line, events) {
    if (line === '') {
      if (this.id !== null) this.lastEventId = this.id;
      if (this.data.length) {
        events.push({ type: this.type || 'message', data: this.data.join('\n'), id: this.id });
      }
      this.data = [];
      this.type = '';
      return;
    }
    if (line[0] === ':') { this.sawComment = true; return; }
    const c = line.indexOf(':');
    const field = c < 0 ? line : line.slice(0, c);
    let value = c < 0 ? '' : line.slice(c + 1);
    if (value[0] === ' ') value = value.slice(1);
    switch (field) {
      case 'data': this.data.push(value); break;
      case 'event': this.type = value; break;
      case 'id': if (!value.includes('\0')) this.id = value; break;
      case 'retry': if (/^\d+$/.test(value)) this.retry = Number(value); break;
      default: break;
    }
  }
}
