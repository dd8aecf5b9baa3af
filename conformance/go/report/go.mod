module kfm-compile/conformance/report

go 1.26
