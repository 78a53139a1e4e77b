/**
 * Keeps V8's fast (non-dictionary) property layout on String.prototype for the life of the
 * process. Imported first by the CLI; it has no exports.
 *
 * Why: a class that extends String (ioredis has one, its RESP3 verbatim string) makes V8
 * turn String.prototype into dictionary mode, as it does with any object first used as a
 * prototype. V8 turns a prototype back once an inline cache looks a property up through an
 * object that inherits from it; string primitives never do that, so String.prototype
 * stayed in dictionary mode, and every string method call (charCodeAt, indexOf, startsWith
 * in the XML scanner) went through V8's generic property lookup: a 100-entry
 * resource-lists document took about twice as long to validate in `serve` as alone.
 *
 * What: a lookup through such an object, repeated until V8 keeps feedback for it (it does
 * from the 8th call), marks String.prototype as a prototype to keep fast; an `extends
 * String` evaluated later leaves it fast.
 */
function Inheriting(): void {}
Inheriting.prototype = String.prototype;
const probe: unknown = Reflect.construct(Inheriting, []);

function lookUp(o: { charCodeAt?: unknown }): unknown {
  return o.charCodeAt;
}
for (let i = 0; i < 64; i++) lookUp(probe as { charCodeAt?: unknown });
