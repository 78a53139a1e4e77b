/**
 * The LDAP Assertion control (RFC 4528): the server performs the operation only if the
 * target entry matches the filter, else answers assertionFailed (122). ldapts ships no
 * class for it; the control value is simply the BER-encoded Filter (RFC 4528 §3).
 */
import { BerWriter, Control, type Filter } from 'ldapts';

export class AssertionControl extends Control {
  static readonly type = '1.3.6.1.1.12';
  readonly filter: Filter;

  constructor(filter: Filter) {
    // Critical: a server that ignored the assertion would turn a conditional write into a blind one.
    super(AssertionControl.type, { critical: true });
    this.filter = filter;
  }

  override writeControl(writer: BerWriter): void {
    const value = new BerWriter();
    this.filter.write(value);
    writer.writeBuffer(value.buffer, 0x04);
  }
}

/** RFC 4528 §3: the result code of an operation whose assertion did not hold. */
export const ASSERTION_FAILED = 122;
