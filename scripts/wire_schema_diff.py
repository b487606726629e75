#!/usr/bin/python3
"""Compares two compiled .proto descriptor sets by what travels on the wire and what the host's
generated code relies on: packages, message and enum names, field names, numbers, types, labels,
oneofs and proto3-optional, and each service method's name, types and streaming.

usage: wire_schema_diff.py OURS.pb THEIRS.pb [OUR_NAME=THEIR_NAME ...]

The renames map our message names to the host's, for names C++ cannot use (see tfplugin6.proto).
Prints every difference; exits 1 if there is any.
"""
import sys

from google.protobuf import descriptor_pb2


def load(path):
    files = descriptor_pb2.FileDescriptorSet()
    with open(path, "rb") as f:
        files.ParseFromString(f.read())
    return files.file[-1]


def facts(proto, renames):
    def name(full):
        for ours, theirs in renames.items():
            full = full.replace("." + ours + ".", "." + theirs + ".")
            if full.endswith("." + ours):
                full = full[: -len(ours)] + theirs
        return full

    out = {("package", proto.package)}
    out |= {("import", d) for d in proto.dependency}

    def message(m, scope):
        full = name(scope + "." + m.name)
        out.add(("message", full))
        for o in m.oneof_decl:
            out.add(("oneof", full, o.name))
        for f in m.field:
            oneof = m.oneof_decl[f.oneof_index].name if f.HasField("oneof_index") else ""
            out.add(("field", full, f.name, f.number, f.type, f.label, name(f.type_name),
                     oneof, f.proto3_optional))
        for e in m.enum_type:
            enum(e, full)
        for n in m.nested_type:
            message(n, full)

    def enum(e, scope):
        for v in e.value:
            out.add(("enum", name(scope + "." + e.name), v.name, v.number))

    for m in proto.message_type:
        message(m, "." + proto.package)
    for e in proto.enum_type:
        enum(e, "." + proto.package)
    for s in proto.service:
        for m in s.method:
            out.add(("rpc", proto.package + "." + s.name, m.name, name(m.input_type),
                     name(m.output_type), m.client_streaming, m.server_streaming))
    return out


def main():
    ours_path, theirs_path, *pairs = sys.argv[1:]
    renames = dict(p.split("=", 1) for p in pairs)
    ours = facts(load(ours_path), renames)
    theirs = facts(load(theirs_path), {})
    for fact in sorted(theirs - ours, key=repr):
        print("missing from ours:", fact)
    for fact in sorted(ours - theirs, key=repr):
        print("only in ours:     ", fact)
    print(f"{len(ours)} facts compared, {len(ours ^ theirs)} differences")
    return 1 if ours != theirs else 0


if __name__ == "__main__":
    sys.exit(main())
