module github.com/libkv/libkv/bindings/go

go 1.24
